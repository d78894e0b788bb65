--
-- PostgreSQL database dump
--

\restrict d8k9wYz3IBeu3TxFcl5eMwr5ymAL6xA55J9lahGqU1PALsd22BlSuwAsNEwxLWt

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: customers; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.customers (
    id integer NOT NULL,
    name text,
    "SSN" character(9),
    routing_number character(9),
    account_number text,
    card text,
    email text,
    note text
);


ALTER TABLE public.customers OWNER TO postgres;

--
-- Name: payments; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.payments (
    id integer,
    amount numeric(12,2),
    reference text,
    memo text
);


ALTER TABLE public.payments OWNER TO postgres;

--
-- Data for Name: customers; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.customers (id, name, "SSN", routing_number, account_number, card, email, note) VALUES
	(1000, 'Customer 0', '012101000', '021000021', '0004000000', '4111111111111111', 'c0@bank.example', 'ok'),
	(1001, 'Customer 1', '013111001', '011000015', '0004000001', '5555555555554444', 'c1@bank.example', 'ok'),
	(1002, 'Customer 2', '014121002', '026009593', '0004000002', '378282246310005', 'c2@bank.example', 'line one
line two	O''Brien'),
	(1003, 'Customer 3', '666131003', '021000022', '0004000003', '4111111111111112', 'c3@bank.example', 'ok'),
	(1004, 'Customer 4', '016141004', '061000104', '0004000004', '6011111111111117', 'c4@bank.example', 'ok');
INSERT INTO public.customers (id, name, "SSN", routing_number, account_number, card, email, note) VALUES
	(1005, 'Customer 5', NULL, '071000013', '0004000005', '3530111333300000', 'c5@bank.example', 'ok'),
	(1006, 'Customer 6', '018161006', '021000021', '0004000006', '4111111111111111', 'c6@bank.example', 'ok'),
	(1007, 'Customer 7', '666171007', '021000022', '0004000007', '4111111111111112', 'c7@bank.example', 'ok'),
	(1008, 'Customer 8', '020181008', '026009593', '0004000008', '378282246310005', 'c8@bank.example', 'ok'),
	(1009, 'Customer 9', '021191009', '121000358', '0004000009', '4012888888881881', 'c9@bank.example', 'ok');
INSERT INTO public.customers (id, name, "SSN", routing_number, account_number, card, email, note) VALUES
	(1010, 'Customer 10', '022201010', '061000104', '0004000010', '6011111111111117', 'c10@bank.example', 'ok'),
	(1011, 'Customer 11', '666211011', '021000022', '0004000011', '4111111111111112', 'c11@bank.example', 'ok'),
	(1012, 'Customer 12', '024221012', '021000021', '0004000012', '4111111111111111', 'c12@bank.example', 'ok'),
	(1013, 'Customer 13', '025231013', '011000015', '0004000013', '5555555555554444', 'c13@bank.example', 'ok'),
	(1014, 'Customer 14', '026241014', '026009593', '0004000014', '378282246310005', 'c14@bank.example', 'ok');
INSERT INTO public.customers (id, name, "SSN", routing_number, account_number, card, email, note) VALUES
	(1015, 'Customer 15', '666251015', '021000022', '0004000015', '4111111111111112', 'c15@bank.example', 'ok'),
	(1016, 'Customer 16', '028261016', '061000104', '0004000016', '6011111111111117', 'c16@bank.example', 'ok'),
	(1017, 'Customer 17', '029271017', '071000013', '0004000017', '3530111333300000', 'c17@bank.example', 'ok'),
	(1018, 'Customer 18', '030281018', '021000021', '0004000018', '4111111111111111', 'c18@bank.example', 'ok'),
	(1019, 'Customer 19', '666291019', '021000022', '0004000019', '4111111111111112', 'c19@bank.example', 'ok');
INSERT INTO public.customers (id, name, "SSN", routing_number, account_number, card, email, note) VALUES
	(1020, 'Customer 20', '032301020', '026009593', '0004000020', '378282246310005', 'c20@bank.example', 'ok'),
	(1021, 'Customer 21', '033311021', '121000358', '0004000021', '4012888888881881', 'c21@bank.example', 'ok'),
	(1022, 'Customer 22', '034321022', '061000104', '0004000022', '6011111111111117', 'c22@bank.example', 'ok'),
	(1023, 'Customer 23', '666331023', '021000022', '0004000023', '4111111111111112', 'c23@bank.example', 'ok');


--
-- Data for Name: payments; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.payments (id, amount, reference, memo) VALUES
	(0, 100.00, '111000025', 'invoice 9000'),
	(1, 101.01, '111000025', 'invoice 9001'),
	(2, 102.02, '111000025', 'invoice 9002'),
	(3, 103.03, '111000025', 'invoice 9003'),
	(4, 104.04, '111000025', 'invoice 9004');
INSERT INTO public.payments (id, amount, reference, memo) VALUES
	(5, 105.05, '111000025', 'invoice 9005'),
	(6, 106.06, '111000025', 'invoice 9006'),
	(7, 107.07, '111000025', 'invoice 9007'),
	(8, 108.08, '111000025', 'invoice 9008'),
	(9, 109.09, '111000025', 'invoice 9009');


--
-- Name: customers customers_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);


--
-- PostgreSQL database dump complete
--

\unrestrict d8k9wYz3IBeu3TxFcl5eMwr5ymAL6xA55J9lahGqU1PALsd22BlSuwAsNEwxLWt

