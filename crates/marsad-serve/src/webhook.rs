//! The review decisions' webhook (Altitude's practice): each decision made
//! through the UI or the API, and each undone, is POSTed as JSON
//! (`{"event": "review.decision" | "review.undo", "decision": {…}}`, the
//! decision as `GET /api/v1/decisions` lists it) to the URL the operator
//! gave (`--review-webhook`), signed with the shared secret
//! (`X-Marsad-Signature: sha256=<hex HMAC-SHA256 of the body>`), and
//! retried with exponential backoff until the receiver answers 2xx or the
//! attempts run out (each failure logged; the decision stands either way).
//! Deliveries leave from one task, in order; the queue is bounded, and a
//! decision that does not fit is logged as not delivered.

use std::time::Duration;

use hmac::{Hmac, Mac};
use marsad_engine::review::DecisionView;
use sha2::Sha256;
use tokio::sync::mpsc;

/// The webhook's settings.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Where decisions are POSTed.
    pub url: reqwest::Url,
    /// The shared secret the body is signed with.
    pub secret: String,
    /// Attempts per delivery (the first included).
    pub attempts: u32,
    /// The wait after the first failure; doubled after each.
    pub backoff: Duration,
    /// Longest wait for one attempt's answer.
    pub timeout: Duration,
}

impl WebhookConfig {
    /// `url` signed with `secret`: 6 attempts, 1 s then doubling, 10 s each.
    pub fn new(url: reqwest::Url, secret: String) -> WebhookConfig {
        WebhookConfig {
            url,
            secret,
            attempts: 6,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The shortest shared secret accepted.
pub const MIN_SECRET: usize = 16;

impl WebhookConfig {
    /// The settings of `url` (http or https) signed with `secret` (at least
    /// [`MIN_SECRET`] characters), or why not.
    pub fn parse(url: &str, secret: String) -> Result<WebhookConfig, String> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| format!("{url:?} is not an http or https URL"))?;
        if secret.chars().count() < MIN_SECRET {
            return Err(format!(
                "a shared secret of {MIN_SECRET} characters or more is needed in MARSAD_REVIEW_WEBHOOK_SECRET, \
                 to sign the decisions with"
            ));
        }
        Ok(WebhookConfig::new(parsed, secret))
    }
}

/// The signature header's value of `body`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The queue to the delivery task.
#[derive(Clone, Debug)]
pub struct Webhook {
    tx: mpsc::Sender<DecisionView>,
}

/// Deliveries waiting at most.
const QUEUED: usize = 10_000;

impl Webhook {
    /// Starts the delivery task.
    pub fn start(cfg: WebhookConfig) -> Webhook {
        let (tx, rx) = mpsc::channel(QUEUED);
        tokio::spawn(deliver_all(cfg, rx));
        Webhook { tx }
    }

    /// Queues a decision's delivery.
    pub fn send(&self, decision: DecisionView) {
        if let Err(e) = self.tx.try_send(decision) {
            let id = match &e {
                mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => d.id,
            };
            tracing::error!(
                decision = id,
                "review webhook: the delivery queue is full or closed; not delivered"
            );
        }
    }
}

async fn deliver_all(cfg: WebhookConfig, mut rx: mpsc::Receiver<DecisionView>) {
    let client = match reqwest::Client::builder()
        .timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("review webhook: no HTTP client ({e}); decisions are not delivered");
            return;
        }
    };
    while let Some(decision) = rx.recv().await {
        let event = if decision.undone_at.is_some() { "review.undo" } else { "review.decision" };
        let body = serde_json::json!({ "event": event, "decision": decision }).to_string();
        let signed = signature(&cfg.secret, body.as_bytes());
        let mut wait = cfg.backoff;
        for attempt in 1..=cfg.attempts.max(1) {
            let sent = client
                .post(cfg.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("x-marsad-signature", &signed)
                .header("x-marsad-delivery", decision.id.to_string())
                .header("x-marsad-attempt", attempt.to_string())
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(decision = decision.id, attempt, "review webhook delivered");
                    break;
                }
                other => {
                    let why = match other {
                        Ok(r) => format!("answered {}", r.status()),
                        Err(e) => e.to_string(),
                    };
                    if attempt == cfg.attempts.max(1) {
                        tracing::error!(decision = decision.id, attempt, %why, "review webhook: given up");
                    } else {
                        tracing::warn!(decision = decision.id, attempt, %why, "review webhook: trying again in {wait:?}");
                        tokio::time::sleep(wait).await;
                        wait = wait.saturating_mul(2);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231s_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
