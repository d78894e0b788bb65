//! russh glue: the per-connection [`Connection`] handler. It stays thin: logins go to the
//! [`service::gate::Gate`], channel bytes go to the SFTP driver's queue, and everything else is refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use russh::keys::{HashAlg, PublicKey};
use std::borrow::Cow;

use russh::keys::Certificate;
use russh::server::{
    Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Response, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet};

use events::{AuthResult, Event, EventKind, Factor};

use crate::Shared;
use crate::sftp::{self, HandleTable, Inbound, SessionContext};
use service::gate::{Method, Principal, Refusal, Step, loggable};
use service::sessions::AccountSlot;

/// SSH channels one connection may have open.
const MAX_CHANNELS_PER_CONNECTION: usize = 8;

pub struct Connection {
    shared: Arc<Shared>,
    peer: SocketAddr,
    authenticated: Arc<AtomicBool>,
    principal: Option<Principal>,
    /// A first factor accepted, the second still to come (with the first factor's method and
    /// credential: the key's fingerprint or the certificate's key id, which the login's
    /// records carry once the second factor is given).
    pending: Option<(Principal, Method, String)>,
    account_slot: Option<AccountSlot>,
    channels: HashMap<ChannelId, Option<Inbound>>,
    /// The client's SSH identification line, once read.
    client_id: Arc<std::sync::OnceLock<String>>,
    /// This connection's number in events.
    session_id: u64,
    /// Cuts the connection's socket.
    sever: service::sessions::Sever,
    /// Memory budgets shared by the connection's SFTP channels.
    budgets: sftp::Budgets,
    /// What the connection is doing, for `session list` (and its handle count).
    live: Arc<service::sessions::LiveSession>,
    /// Whether an SFTP session was started on it (each records its own end).
    sftp_started: bool,
    /// The last certificate offered: its key id and the certified key's fingerprint (asked
    /// again once a login with it is counted: revoked meanwhile?).
    certificate: Option<(String, String)>,
}

impl Drop for Connection {
    /// A login that started no SFTP session (a shell or command refused, port forwarding
    /// asked for) has its end recorded here, so that every login in the ledger has an end: the
    /// incident report would otherwise list it as still open.
    fn drop(&mut self) {
        if self.sftp_started {
            return;
        }
        if let Some(p) = &self.principal {
            let closed = self.event(
                &p.account,
                Some(&p.tenant),
                EventKind::Session {
                    opened: false,
                    methods: None,
                    credential: None,
                    ended_by: self.live.ended_by().map(str::to_owned),
                },
            );
            events::EventSink::emit(self.shared.ledger.as_ref(), closed);
        }
    }
}

impl Connection {
    pub fn new(
        shared: Arc<Shared>,
        peer: SocketAddr,
        authenticated: Arc<AtomicBool>,
        client_id: Arc<std::sync::OnceLock<String>>,
        session_id: u64,
        sever: service::sessions::Sever,
        live: Arc<service::sessions::LiveSession>,
    ) -> Self {
        Self {
            budgets: sftp::Budgets::for_connection(shared.buffers.clone()),
            live,
            sever,
            shared,
            peer,
            authenticated,
            principal: None,
            pending: None,
            sftp_started: false,
            certificate: None,
            account_slot: None,
            channels: HashMap::new(),
            client_id,
            session_id,
        }
    }

    fn event(&self, account: &str, tenant: Option<&str>, kind: EventKind) -> Event {
        let mut e = Event::new(self.shared.clock.now(), kind);
        e.source = Some(self.peer);
        e.account = Some(loggable(account));
        e.tenant = tenant.map(str::to_owned);
        e.client_version = self.client_id.get().cloned();
        e.session = Some(self.live.session_id.clone());
        e
    }

    /// Unix seconds, as the gate counts them.
    fn now(&self) -> i64 {
        self.shared.clock.unix_secs()
    }

    /// Emits an authentication event for this connection.
    fn auth_event(&self, account: &str, tenant: Option<&str>, kind: EventKind) {
        events::EventSink::emit(
            self.shared.ledger.as_ref(),
            self.event(account, tenant, kind),
        );
    }

    fn methods() -> MethodSet {
        MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..])
    }

    fn reject() -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(Self::methods()),
            partial_success: false,
        }
    }

    /// The first factor is good; ask for the second over keyboard-interactive.
    fn ask_second_factor() -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::KeyboardInteractive][..])),
            partial_success: true,
        }
    }

    /// Records a successful login (durably, before the client hears of it), unless the account
    /// is at its session limit or the ledger cannot record it.
    async fn admit(&mut self, p: Principal, method: &str, detail: &str) -> Auth {
        let max = self.shared.config.limits.max_sessions_per_account;
        let Some(slot) = self
            .shared
            .registry
            .login(self.session_id, p.account_id, max)
        else {
            tracing::warn!(peer = %self.peer, account = %p.account, "login refused: session limit reached");
            return Self::reject();
        };
        let kind = EventKind::Auth {
            method: method.to_owned(),
            factor: factor_of(method),
            result: AuthResult::Success,
            reason: None,
            credential: credential(detail),
        };
        if self
            .shared
            .ledger
            .record(self.event(&p.account, Some(&p.tenant), kind))
            .await
            .is_err()
        {
            tracing::error!(account = %p.account, "login refused: the audit ledger cannot record it");
            return Self::reject();
        }
        self.shared
            .gate
            .defender
            .record_success(self.peer.ip(), &p.account);
        let certificate = method
            .starts_with("certificate")
            .then(|| self.certificate.clone())
            .flatten();
        self.live.logged_in(service::sessions::Login {
            account: p.account.clone(),
            account_id: p.account_id,
            tenant: p.tenant.clone(),
            tenant_id: p.tenant_id,
            credential: credential(detail),
            methods: method.to_owned(),
            certified_key: certificate.as_ref().map(|c| c.1.clone()),
            expires_at: p.credential_expires,
        });
        // Its idle time counts from its login.
        self.live.active(self.shared.clock.now());
        // What closes sessions may have happened while this login was checked: containment
        // closes an account's sessions again once its lock is committed, a key removed or a
        // certificate revoked closes those it opened, `ban add` reloads the bans and then
        // closes the address's sessions. A login checked before and counted among the
        // sessions after sees it here (counted first, then asked).
        let meanwhile = if self.shared.gate.locked(&p).await {
            Some("the account was locked or removed")
        } else if self
            .shared
            .gate
            .credential_withdrawn(&p, method, credential(detail).as_deref(), certificate)
            .await
        {
            Some("its credential was withdrawn")
        } else if self
            .shared
            .gate
            .defender
            .is_banned(self.peer.ip(), self.now())
        {
            Some("the address was banned")
        } else {
            None
        };
        if let Some(what) = meanwhile {
            tracing::warn!(peer = %self.peer, account = %p.account, "login refused: {what} meanwhile");
            self.sever.sever();
            return Self::reject();
        }
        self.account_slot = Some(slot);
        self.principal = Some(p);
        self.pending = None;
        self.authenticated.store(true, Ordering::SeqCst);
        Auth::Accept
    }

    async fn refuse(&mut self, user: &str, method: &str, detail: &str, why: Refusal) -> Auth {
        let kind = EventKind::Auth {
            method: method.to_owned(),
            factor: factor_of(method),
            result: AuthResult::Refused,
            reason: Some(why.to_string()),
            credential: credential(detail),
        };
        // The account's tenant when it exists (recorded only: the client is told nothing).
        let tenant = self.shared.gate.tenant_of(user).await;
        self.auth_event(user, tenant.as_deref(), kind);
        self.pending = None;
        self.shared
            .gate
            .failed(self.peer.ip(), user, self.now())
            .await;
        Self::reject()
    }

    /// Acts on the outcome of a first factor.
    async fn first_factor(
        &mut self,
        user: &str,
        method: Method,
        detail: &str,
        outcome: Result<Step, Refusal>,
    ) -> Auth {
        match outcome {
            Ok(Step::Done(p)) => self.admit(p, method.as_str(), detail).await,
            Ok(Step::SecondFactor(p)) => {
                let kind = EventKind::Auth {
                    method: method.as_str().to_owned(),
                    factor: Factor::First,
                    result: AuthResult::Partial,
                    reason: Some("first factor accepted; second factor required".into()),
                    credential: credential(detail),
                };
                self.auth_event(&p.account, Some(&p.tenant), kind);
                self.pending = Some((p, method, detail.to_owned()));
                Self::ask_second_factor()
            }
            Err(why) => self.refuse(user, method.as_str(), detail, why).await,
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Self::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        _offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Every probe gets the same answer, so probing reveals neither accounts nor keys (and
        // a certificate's probe carries only its inner key). The decision comes after the
        // signature, in auth_publickey / auth_openssh_certificate.
        Ok(Auth::Accept)
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let fp = fingerprint(key.public_key);
        let outcome = self
            .shared
            .gate
            .login_key(user, key.public_key, self.peer.ip(), self.now())
            .await;
        Ok(self
            .first_factor(user, Method::PublicKey, &fp, outcome)
            .await)
    }

    async fn auth_openssh_certificate(
        &mut self,
        user: &str,
        certificate: &Certificate,
    ) -> Result<Auth, Self::Error> {
        let detail = service::gate::certificate::credential_of(certificate.key_id());
        self.certificate = Some((
            certificate.key_id().to_owned(),
            certificate
                .public_key()
                .fingerprint(HashAlg::Sha256)
                .to_string(),
        ));
        let outcome = self
            .shared
            .gate
            .login_certificate(user, certificate, self.peer.ip(), self.now())
            .await;
        Ok(self
            .first_factor(user, Method::Certificate, &detail, outcome)
            .await)
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let outcome = self
            .shared
            .gate
            .login_password(user, password, self.peer.ip(), self.now())
            .await;
        Ok(self.first_factor(user, Method::Password, "", outcome).await)
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        let Some((p, first, credential)) = self.pending.clone().filter(|(p, ..)| p.account == user)
        else {
            // Keyboard-interactive is only ever a second factor.
            return Ok(Self::reject());
        };
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: Cow::Borrowed("Strongroom second factor"),
                instructions: Cow::Borrowed(""),
                prompts: Cow::Owned(vec![(Cow::Borrowed("Verification code: "), false)]),
            });
        };
        let answer = response
            .next()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let method = format!("{}+totp", first.as_str());
        match self
            .shared
            .gate
            .second_factor(&p, &answer, self.now())
            .await
        {
            Ok(()) => Ok(self.admit(p, &method, &credential).await),
            Err(why) => {
                self.refuse(user, &method, &credential, why).await;
                Ok(Self::reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.principal.is_none() || self.channels.len() >= MAX_CHANNELS_PER_CONNECTION {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        // Data is taken through `data()`; the Channel object itself is not kept, so russh never
        // blocks on a per-channel queue that nobody reads.
        self.channels.insert(channel.id(), None);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let opened = self.principal.as_ref().map(|p| {
            self.event(
                &p.account,
                Some(&p.tenant),
                EventKind::Session {
                    opened: true,
                    methods: self.live.login().map(|l| l.methods.clone()),
                    credential: self.live.login().and_then(|l| l.credential.clone()),
                    ended_by: None,
                },
            )
        });
        let slot = self.channels.get_mut(&channel);
        match (name, slot, &self.principal) {
            ("sftp", Some(slot @ None), Some(p)) => {
                let ctx = Arc::new(SessionContext {
                    event: opened.clone().unwrap_or_else(|| {
                        Event::new(
                            self.shared.clock.now(),
                            EventKind::Session {
                                opened: true,
                                methods: None,
                                credential: None,
                                ended_by: None,
                            },
                        )
                    }),
                    ledger: self.shared.ledger.clone(),
                    principal: p.clone(),
                    files: self.shared.files_for(p.tenant_id),
                    handles: std::sync::Mutex::new(HandleTable::new(
                        self.shared.config.limits.max_handles_per_session,
                        self.live.clone(),
                    )),
                    live: self.live.clone(),
                    pacer: self.shared.throttles.for_session(&p.account, p.throttle),
                    data_dir: self.shared.config.blob_dir(),
                    budgets: self.budgets.clone(),
                    sever: self.sever.clone(),
                    clock: self.shared.clock.clone(),
                    entropy: self.shared.entropy.clone(),
                    detection: self.shared.detection.clone(),
                });
                *slot = Some(sftp::start(ctx, session.handle(), channel));
                self.sftp_started = true;
                tracing::debug!(peer = %self.peer, account = %p.account, "sftp session started");
                session.channel_success(channel)
            }
            _ => {
                tracing::info!(peer = %self.peer, subsystem = %loggable(name), "subsystem refused");
                session.channel_failure(channel)
            }
        }
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(peer = %self.peer, "exec refused: only the sftp subsystem is served");
        session.channel_failure(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(peer = %self.peer, "shell refused: only the sftp subsystem is served");
        session.channel_failure(channel)
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(Some(inbound)) = self.channels.get_mut(&channel)
            && !inbound.push(data).await
        {
            self.channels.remove(&channel);
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Dropping the queue ends the SFTP driver, which closes the channel when done.
        if let Some(slot) = self.channels.get_mut(&channel) {
            slot.take();
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}

/// A second-factor step names both methods ("publickey+totp").
fn factor_of(method: &str) -> Factor {
    if method.contains('+') {
        Factor::Second
    } else {
        Factor::First
    }
}

fn credential(detail: &str) -> Option<String> {
    (!detail.is_empty()).then(|| detail.to_owned())
}

fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}
