//! Outbound mail: the [`Mailer`] capability with its SMTP implementation (lettre), the
//! templates from `prompts/`, what to send when a case is decided (`notify`) and the outbox
//! worker that delivers queued mail with retries (`worker`).

pub mod notify;
pub mod templates;
pub mod worker;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox,
        header::{ContentType, HeaderName, HeaderValue},
    },
    transport::smtp::authentication::Credentials,
};
use secrecy::ExposeSecret;

use crate::{
    config::{ConfigError, MailSecurity, SmtpConfig},
    domain::Outbound,
};

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("mail.smtp: {0}")]
    Setup(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Why one delivery failed. `message` is safe to store and log: an error class and SMTP
/// code, never addresses or text.
#[derive(Debug, Clone)]
pub struct SendFailure {
    pub message: String,
    /// Retrying cannot help (5xx, invalid address).
    pub permanent: bool,
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Outbound) -> Result<(), SendFailure>;
}

/// Delivers through an SMTP relay.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, OutboundError> {
        let setup = |e: lettre::transport::smtp::Error| OutboundError::Setup(e.to_string());
        let mut builder = match config.security {
            MailSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
            MailSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
            }
            MailSecurity::Plain => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &config.host,
            )),
        }
        .map_err(setup)?
        .port(config.port)
        .timeout(Some(std::time::Duration::from_secs(config.timeout_seconds)));
        if !config.user.is_empty() {
            let password = config.password()?.unwrap_or_default();
            builder = builder.credentials(Credentials::new(
                config.user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        let address = config
            .from_address
            .parse()
            .map_err(|_| OutboundError::Setup("from_address is not a valid mail address".into()))?;
        Ok(Self {
            transport: builder.build(),
            from: Mailbox::new(Some(config.from_name.clone()), address),
        })
    }
}

/// `<id>` for headers; ids are stored without angle brackets.
fn angle(id: &str) -> String {
    format!("<{id}>")
}

/// The lettre message for `mail`: threading headers and `Auto-Submitted` included.
fn message(from: &Mailbox, mail: &Outbound) -> Result<Message, SendFailure> {
    let permanent = |what: &str| SendFailure {
        message: what.to_string(),
        permanent: true,
    };
    let to: Mailbox = mail
        .to_address
        .parse()
        .map_err(|_| permanent("invalid recipient address"))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .message_id(Some(angle(&mail.message_id)))
        .date_now();
    if let Some(id) = &mail.in_reply_to {
        builder = builder.in_reply_to(angle(id));
    }
    if let Some(refs) = &mail.references {
        let refs: Vec<String> = refs.split_whitespace().map(angle).collect();
        builder = builder.references(refs.join(" "));
    }
    let mut msg = builder
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|_| permanent("message could not be built"))?;
    if let Some(value) = &mail.auto_submitted {
        msg.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            value.clone(),
        ));
    }
    Ok(msg)
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Outbound) -> Result<(), SendFailure> {
        let msg = message(&self.from, mail)?;
        self.transport.send(msg).await.map(drop).map_err(|e| {
            // Only the class and code: server texts may quote the recipient.
            let code = e.status().map(|c| format!(" {c}")).unwrap_or_default();
            let class = if e.is_permanent() {
                "permanent SMTP error"
            } else if e.is_transient() {
                "transient SMTP error"
            } else if e.is_timeout() {
                "SMTP timeout"
            } else if e.is_tls() {
                "TLS error"
            } else {
                "SMTP connection error"
            };
            SendFailure {
                message: format!("{class}{code}"),
                permanent: e.is_permanent(),
            }
        })
    }
}
