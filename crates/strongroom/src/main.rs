//! The `strongroom` binary: parses the command line, runs one command, and turns its result into
//! an exit code (0 ok, 1 operational failure, 2 usage error; 128 + the signal's number for a
//! changing command a signal stopped, once its record says so) with one clear line on stderr.

mod admin;
mod audit_admin;
mod classify_admin;
mod cli;
mod detect_admin;
mod gate_admin;
mod incident_html;
mod printable;
mod session_admin;
mod settings;
mod units;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_when_the_reader_stops();
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if broken_pipe(&e) && stdout_reader_gone() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strongroom: {}", one_line(&e));
            if let Some(Interrupted(signal)) = e.downcast_ref::<Interrupted>() {
                return ExitCode::from(signal.exit_code());
            }
            ExitCode::from(e.downcast_ref::<UsageError>().map_or(1, |_| 2))
        }
    }
}

/// A signal that stops a command: its name, and the exit code a shell gives a process it
/// killed (128 + its number).
#[derive(Debug, Clone, Copy)]
enum Signal {
    Hangup,
    Interrupt,
    Terminate,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    fn exit_code(self) -> u8 {
        match self {
            Signal::Hangup => 129,
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

/// A command that changes something stopped by a signal ([`interruption`]).
#[derive(Debug)]
struct Interrupted(Signal);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted by {}: what it had done by then stands (a key rotation or a tenant \
             removal under way is finished by running it again)",
            self.0.name()
        )
    }
}

impl std::error::Error for Interrupted {}

/// The first SIGHUP, SIGINT or SIGTERM, listened for from this call on (so that the command
/// that follows is not killed by one before its record is made; the server's clean stop waits
/// for the same). Never, where the handlers
/// cannot be installed (the default, killing, stays).
fn interruption() -> impl std::future::Future<Output = Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    async move {
        let (Ok(mut hup), Ok(mut int), Ok(mut term)) = handlers else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = hup.recv() => Signal::Hangup,
            _ = int.recv() => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
        }
    }
}

/// Whether standard output is a pipe whose reader has gone (`strongroom audit export | head`):
/// then a failed write is the reader's choice to stop, not a failure to report. (A pipe's
/// write end polls as an error once no reader is left.)
fn stdout_reader_gone() -> bool {
    let mut stdout = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one pollfd that lives through the call; a zero timeout never blocks.
    let ready = unsafe { libc::poll(&mut stdout, 1, 0) };
    ready == 1 && stdout.revents & libc::POLLERR != 0
}

/// Whether `e` is a write to a closed pipe (directly, or through the JSON or CSV writer).
fn broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
            || c.downcast_ref::<csv::Error>().is_some_and(
                |c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe),
            )
    })
}

/// Output printed with `println!` panics when its reader has gone: that panic is not reported
/// ([`run`] turns it into the error it stands for, after the command's ledger record); any
/// other panic is reported as before.
fn quiet_when_the_reader_stops() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !printing_to_a_closed_pipe(info.payload()) {
            report(info);
        }
    }));
}

/// Whether a panic's payload is `println!`'s to a reader that has gone.
fn printing_to_a_closed_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    message.starts_with("failed printing to stdout") && stdout_reader_gone()
}

/// An error in how the command was called (exit code 2), as opposed to one in doing it.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The error and its causes on one line: "what failed: why". A cause that its error's own
/// message already ends with (`{what}: {source}`) is not said twice.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.is_empty() && line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The command line of a command on the ledger's record (every change, and the reads of files'
/// facts and of incidents: `cli::Command::recorded`), for the ledger; `None` for the others.
/// Passwords never appear on it (they come on stdin).
fn admin_record(command: &cli::Command) -> Option<String> {
    command.recorded().then(|| {
        let mut words = std::env::args().skip(1).peekable();
        let mut kept = Vec::new();
        while let Some(w) = words.next() {
            if w == "--data-dir" {
                words.next();
            } else if !w.starts_with("--data-dir=") {
                kept.push(w);
            }
        }
        kept.join(" ")
    })
}

fn run(args: cli::Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let record = admin_record(&args.command);
    // Its records (`begun`, then its end) share this id.
    let run = service::admin::new_run_id();
    let changes = record.is_some();
    let data_dir = args.data_dir.clone();
    // A change is on the record before it is made (`begun`), so that one cut short by kill -9
    // or a power loss, which leaves no record of its end, still has one: an account's key
    // added, and the machine lost before the record of its end, is not a change without a
    // trace. A change in a data directory not there yet (`tenant add` making it) has none to
    // record it in. Where the ledger cannot take it, the change is still made, with a
    // warning, unless the configuration refuses such changes (`[audit] unrecorded_changes =
    // "refuse"`); containment (a ban, a lock, a session's end) is made either way: it must work
    // when the ledger does not. The record of its end is tried again after it.
    if let Some(command) = &record
        && args.command.recorded_before()
        && data_dir.is_dir()
        && let Err(e) = audit_admin::record_admin(&data_dir, command, &run, "begun")
    {
        // A configuration that does not read leaves the default (its error is the server's
        // to report; an administrator may be mending it).
        let refused = settings::load_default(&data_dir)
            .is_ok_and(|c| c.unrecorded_changes == service::config::UnrecordedChanges::Refuse);
        if refused && !args.command.contains() {
            anyhow::bail!(
                "refused: the audit ledger could not record this command's beginning ({}), and \
                 [audit] unrecorded_changes = \"refuse\": nothing was changed (containment, a ban, \
                 a lock, a key's removal or a session's end, is made all the same)",
                one_line(&e)
            );
        }
        eprintln!(
            "strongroom: warning: the audit ledger could not record this command's beginning: {}",
            one_line(&e)
        );
    }
    // A command whose output nobody reads any more still has its record in the ledger below.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async move {
            // A command that changes something, interrupted (Ctrl-C, its terminal closed, a
            // stop): what it did by then stands (a key rotation or a removal under way, its
            // first steps), and so does its record, which says it was interrupted.
            let interrupted = match changes {
                true => Some(interruption()),
                false => None,
            };
            let command = async move {
                match args.command {
                    cli::Command::Serve(s) => settings::serve(&args.data_dir, s).await,
                    cli::Command::Tenant(t) => admin::tenant(&args.data_dir, t).await,
                    cli::Command::User(u) => admin::user(&args.data_dir, u).await,
                    cli::Command::Master(cli::MasterCommand::Rotate) => {
                        admin::master_rotate(&args.data_dir).await
                    }
                    cli::Command::Ban(b) => gate_admin::ban(&args.data_dir, b).await,
                    cli::Command::Audit(a) => audit_admin::audit(&args.data_dir, a).await,
                    cli::Command::Session(c) => session_admin::session(&args.data_dir, c).await,
                    cli::Command::Alert(c) => detect_admin::alert(&args.data_dir, c).await,
                    cli::Command::Canary(c) => detect_admin::canary(&args.data_dir, c).await,
                    cli::Command::File(c) => classify_admin::file(&args.data_dir, c).await,
                    cli::Command::Classify(c) => classify_admin::classify(&args.data_dir, c).await,
                    cli::Command::Incident(c) => classify_admin::incident(&args.data_dir, c).await,
                    cli::Command::Detect(c) => detect_admin::detect(&args.data_dir, c).await,
                    cli::Command::Retention(cli::RetentionCommand::Run { now }) => {
                        admin::retention_run(&args.data_dir, now.as_deref()).await
                    }
                }
            };
            match interrupted {
                None => command.await,
                Some(signal) => tokio::select! {
                    done = command => done,
                    name = signal => Err(Interrupted(name).into()),
                },
            }
        })
    }));
    // A change is recorded however the command ended (a panic included: it may have changed
    // something before it); but in no data directory: one that found none (a mistyped
    // --data-dir, read by a command that only reads) changed nothing, and its record would make
    // a ledger and a master key there.
    let recorded = |outcome: &str| {
        if let Some(command) = &record
            && data_dir.is_dir()
            && let Err(e) = audit_admin::record_admin(&data_dir, command, &run, outcome)
        {
            eprintln!(
                "strongroom: warning: the audit ledger could not record this command: {}",
                one_line(&e)
            );
        }
    };
    let result = match ran {
        Ok(result) => result,
        Err(payload) if printing_to_a_closed_pipe(payload.as_ref()) => {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into())
        }
        Err(payload) => {
            recorded("failed: the command panicked");
            std::panic::resume_unwind(payload)
        }
    };
    let interrupted = matches!(&result, Err(e) if e.downcast_ref::<Interrupted>().is_some());
    recorded(&match &result {
        Ok(()) => "ok".to_owned(),
        // The command did its work; only its printed output went unread.
        Err(e) if broken_pipe(e) && stdout_reader_gone() => {
            "ok (its output's reader had gone)".to_owned()
        }
        Err(e) if interrupted => e.to_string(),
        Err(e) => format!("failed: {}", one_line(e)),
    });
    if interrupted {
        // Work of the command still under way on other threads (a transaction's last moments,
        // a read of standard input) is not waited for.
        runtime.shutdown_background();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("acme:/nope: {source}")]
    struct Wrapped {
        source: std::io::Error,
    }

    /// A cause that the message already carries is said once; other causes are joined.
    #[test]
    fn one_line_says_each_cause_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Wrapped { source: io() });
        assert_eq!(one_line(&e), "acme:/nope: no such file");
        let e = anyhow::Error::new(io()).context("reading the ledger");
        assert_eq!(one_line(&e), "reading the ledger: no such file");
    }
}
