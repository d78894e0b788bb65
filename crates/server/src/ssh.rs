//! russh glue: the per-connection [`Connection`] handler. It stays thin: logins go to the
//! [`Gate`], channel bytes go to the SFTP driver's queue, and everything else is refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use russh::keys::{HashAlg, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet};

use crate::Shared;
use crate::gate::{Principal, Refusal, loggable};
use crate::sessions::AccountSlot;
use crate::sftp::{self, HandleTable, Inbound, SessionContext};

/// SSH channels one connection may have open.
const MAX_CHANNELS_PER_CONNECTION: usize = 8;

pub struct Connection {
    shared: Arc<Shared>,
    peer: SocketAddr,
    authenticated: Arc<AtomicBool>,
    principal: Option<Principal>,
    account_slot: Option<AccountSlot>,
    channels: HashMap<ChannelId, Option<Inbound>>,
}

impl Connection {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, authenticated: Arc<AtomicBool>) -> Self {
        Self {
            shared,
            peer,
            authenticated,
            principal: None,
            account_slot: None,
            channels: HashMap::new(),
        }
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

    /// Records a successful login, unless the account is at its session limit.
    fn admit(&mut self, p: Principal, method: &str, detail: &str) -> Auth {
        let max = self.shared.config.limits.max_sessions_per_account;
        let Some(slot) = self.shared.registry.login(p.account_id, max) else {
            tracing::warn!(peer = %self.peer, account = %p.account, "login refused: session limit reached");
            return Self::reject();
        };
        tracing::info!(peer = %self.peer, account = %p.account, tenant = %p.tenant, method, detail, "login");
        self.account_slot = Some(slot);
        self.principal = Some(p);
        self.authenticated.store(true, Ordering::SeqCst);
        Auth::Accept
    }

    fn refuse(&self, user: &str, method: &str, why: Refusal) -> Auth {
        tracing::info!(peer = %self.peer, user = %loggable(user), method, reason = %why, "login refused");
        Self::reject()
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Self::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // The same check as after the signature, so probing reveals nothing more than a login.
        Ok(
            match self.shared.gate.check_key(user, offer.public_key).await {
                Ok(_) => Auth::Accept,
                Err(why) => self.refuse(user, "publickey", why),
            },
        )
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let fp = fingerprint(key.public_key);
        Ok(
            match self.shared.gate.check_key(user, key.public_key).await {
                Ok(p) => self.admit(p, "publickey", &fp),
                Err(why) => self.refuse(user, "publickey", why),
            },
        )
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        Ok(
            match self.shared.gate.check_password(user, password).await {
                Ok(p) => self.admit(p, "password", ""),
                Err(why) => self.refuse(user, "password", why),
            },
        )
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
        let slot = self.channels.get_mut(&channel);
        match (name, slot, &self.principal) {
            ("sftp", Some(slot @ None), Some(p)) => {
                let ctx = Arc::new(SessionContext {
                    principal: p.clone(),
                    files: self.shared.files_for(p.tenant_id),
                    handles: std::sync::Mutex::new(HandleTable::new(
                        self.shared.config.limits.max_handles_per_session,
                    )),
                    data_dir: self.shared.config.blob_dir(),
                });
                *slot = Some(sftp::start(ctx, session.handle(), channel));
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

fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}
