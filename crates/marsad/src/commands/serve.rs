//! `marsad serve`, `marsad token …`, `marsad audit`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{AuditArgs, ServeArgs, TokenCommand};
use crate::table::{Table, shown};

pub fn serve(db: &str, nats: &str, memory: u64, args: ServeArgs) -> Result<ExitCode> {
    // The store is created (and migrated) before the server opens its
    // connections, so that a bad --db fails here with the CLI's message.
    let shared = matches!(crate::store::open(db)?.location(), marsad_engine::StoreLocation::Postgres(_));
    let mut cfg = marsad_serve::ServeConfig::new(db);
    // Servers sharing a store announce their bank changes to each other
    // on the change feed; one on its own file store has no one to tell.
    cfg.nats = shared.then(|| nats.to_owned());
    cfg.addr = args.addr;
    cfg.hma_open = args.hma_open;
    cfg.max_upload = args.max_upload;
    cfg.memory = memory;
    cfg.pdq_threshold = args.threshold;
    cfg.refresh = Duration::from_millis(args.refresh_ms.max(10));
    cfg.connections = args.connections.max(2);
    cfg.concurrency = args.concurrency.max(1);
    cfg.token_concurrency = args.token_concurrency.max(1);
    cfg.fetch.enabled = args.allow_url_fetch;
    cfg.scratch = args.scratch_dir.clone();
    if let Some(url) = &args.review_webhook {
        let secret = std::env::var("MARSAD_REVIEW_WEBHOOK_SECRET").unwrap_or_default();
        let hook = marsad_serve::webhook::WebhookConfig::parse(url, secret)
            .map_err(|e| anyhow::anyhow!("--review-webhook: {e}"))?;
        cfg.review_webhook = Some(hook);
    }
    cfg.fetch.max_bytes = args.max_upload;
    for net in &args.fetch_allow {
        cfg.fetch.allow.push(marsad_serve::fetch::parse_net(net).map_err(anyhow::Error::msg)?);
    }
    let open = if cfg.hma_open { " (/h and /m open without a token)" } else { "" };
    marsad_serve::run(cfg, |addr| {
        // One line on stdout, for scripts that start the server on port 0.
        println!("listening on http://{addr}{open}");
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn token(db: &str, json: bool, cmd: TokenCommand) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    match cmd {
        TokenCommand::Create { role, name } => {
            let role = marsad_engine::access::parse_role(&role)?;
            let t = engine.create_token(&name, role)?;
            if json {
                println!("{}", serde_json::to_string(&t)?);
            } else {
                println!("{}", t.token);
                eprintln!("token {:?} ({}) created; it is shown only now: keep it", t.name, t.role);
            }
        }
        TokenCommand::List => {
            let tokens = engine.tokens()?;
            if json {
                println!("{}", serde_json::to_string(&tokens)?);
            } else if tokens.is_empty() {
                println!("no tokens (make one with: marsad token create --role viewer --name NAME)");
            } else {
                let mut t = Table::new(&["name", "role", "prefix", "created", "revoked"]);
                for k in &tokens {
                    t.row(vec![
                        shown(&k.name).into_owned(),
                        k.role.to_owned(),
                        format!("{}…", k.prefix),
                        k.created_at.clone(),
                        k.revoked_at.clone().unwrap_or_default(),
                    ]);
                }
                t.print();
            }
        }
        TokenCommand::Revoke { name } => {
            engine.revoke_token(&name)?;
            if json {
                println!("{}", serde_json::json!({ "revoked": name }));
            } else {
                println!("revoked token {}", shown(&name));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(db: &str, json: bool, args: &AuditArgs) -> Result<ExitCode> {
    let engine = crate::store::open(db)?;
    let since = args.since.as_deref().map(marsad_engine::observatory::parse_time).transpose()?;
    let rows = engine.audit(since, args.limit)?;
    if json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
    } else if rows.is_empty() {
        println!("the audit log is empty");
    } else {
        let mut t = Table::new(&["at", "actor", "action", "target", "status", "detail"]);
        for r in &rows {
            t.row(vec![
                r.at.clone(),
                shown(&r.actor).into_owned(),
                shown(&r.action).into_owned(),
                shown(r.target.as_deref().unwrap_or("")).into_owned(),
                r.status.map(|s| s.to_string()).unwrap_or_default(),
                r.detail.as_ref().map(|d| shown(&d.to_string()).into_owned()).unwrap_or_default(),
            ]);
        }
        t.print();
    }
    Ok(ExitCode::SUCCESS)
}
