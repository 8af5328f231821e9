//! `marsad user`: accounts of the web UI.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use crate::cli::UserCommand;
use crate::table::{Table, shown};

pub fn run(db: &str, json: bool, cmd: UserCommand) -> Result<ExitCode> {
    let mut engine = crate::store::open(db)?;
    match cmd {
        UserCommand::Create { name, role } => {
            let role = marsad_engine::access::parse_role(&role)?;
            let password = read_password(&name)?;
            let user = engine.create_user("cli", &name, role, &password)?;
            if json {
                println!("{}", serde_json::to_string(&user)?);
            } else {
                println!("user {} ({}) created", shown(&user.name), user.role);
            }
        }
        UserCommand::List => {
            let users = engine.users()?;
            if json {
                println!("{}", serde_json::to_string(&users)?);
            } else if users.is_empty() {
                println!("no users (make one with: marsad user create NAME --role admin)");
            } else {
                let mut t = Table::new(&["name", "role", "created", "password set", "disabled"]);
                for u in &users {
                    t.row(vec![
                        shown(&u.name).into_owned(),
                        u.role.to_owned(),
                        u.created_at.clone(),
                        u.password_changed_at.clone(),
                        u.disabled_at.clone().unwrap_or_default(),
                    ]);
                }
                t.print();
            }
        }
        UserCommand::Disable { name } => {
            engine.disable_user("cli", &name)?;
            if json {
                println!("{}", serde_json::json!({ "disabled": name }));
            } else {
                println!("disabled user {}", shown(&name));
            }
        }
        UserCommand::Passwd { name } => {
            if engine.users()?.iter().all(|u| u.name != name) {
                bail!("no user named {:?}", name);
            }
            let password = read_password(&name)?;
            engine.set_password("cli", &name, &password)?;
            if json {
                println!("{}", serde_json::json!({ "password_set": name }));
            } else {
                println!("password of {} set; their sessions have ended", shown(&name));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A new password: asked twice without echo at a terminal, else the first
/// line of standard input (without its line ending).
fn read_password(name: &str) -> Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("new password for {}: ", shown(name)))
            .context("cannot read the password")?;
        let again = rpassword::prompt_password("the same again: ").context("cannot read the password")?;
        if first != again {
            bail!("the two passwords differ; nothing was changed");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    if password.is_empty() {
        bail!("no password on standard input: pipe one line, or run at a terminal to be asked");
    }
    Ok(password.to_owned())
}
