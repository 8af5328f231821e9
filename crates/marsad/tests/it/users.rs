//! `marsad user`: accounts of the web UI, their passwords read from
//! standard input and stored as argon2id hashes only.

use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

use marsad_engine::Engine;
use serde_json::Value;

use crate::support::{marsad, run, stderr, stdout};

/// Runs marsad with `--db db`, the arguments and `input` on standard input.
fn run_with_input(db: &Path, args: &[&str], input: &str) -> Output {
    let mut child = marsad()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run marsad");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn users(db: &Path) -> Value {
    serde_json::from_str(&stdout(&run(db, &["--json", "user", "list"]))).expect("json")
}

fn engine(db: &Path) -> Engine {
    Engine::open(db.to_str().expect("utf-8")).expect("store")
}

#[test]
fn a_user_is_made_with_a_piped_password_stored_as_argon2id_only() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("u.db");
    let password = "correct horse battery";
    let o = run_with_input(&db, &["user", "create", "amal", "--role", "admin"], &format!("{password}\r\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "user amal (admin) created");
    let list = users(&db);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "amal");
    assert_eq!(list[0]["role"], "admin");
    assert_eq!(list[0]["disabled_at"], Value::Null);
    let mut keys: Vec<&str> = list[0].as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "disabled_at", "name", "password_changed_at", "role"]);
    // Neither the password nor its hash leaves the store; the file holds
    // the argon2id hash, never the password.
    assert!(!list.to_string().contains(password) && !list.to_string().contains("argon2"));
    let raw = std::fs::read(&db).expect("store file");
    assert!(!raw.windows(password.len()).any(|w| w == password.as_bytes()), "the password is stored");
    assert!(raw.windows(10).any(|w| w == b"$argon2id$"), "no argon2id hash in the store");

    // The password signs in (the line ending is not part of it); another does not.
    let mut e = engine(&db);
    let session = e.login("amal", password).expect("login").expect("signed in");
    assert_eq!((session.user.as_str(), session.role.as_str()), ("amal", "admin"));
    assert!(e.session(&session.cookie).expect("session").is_some_and(|s| s.csrf == session.csrf));
    assert!(e.login("amal", &format!("{password}\r")).expect("login").is_none());
    assert!(e.login("amal", "correct horse batterY").expect("login").is_none());
    assert!(e.login("nobody", password).expect("login").is_none());
    // A refused name is kept only when it is a user's (an unknown one may
    // be a password typed in the wrong field).
    assert!(e.login("a password in the name field", "x").expect("login").is_none());
    let refused: Vec<String> = e
        .audit(None, None)
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == "auth.refused")
        .map(|r| r.detail.map(|d| d["user"].to_string()).unwrap_or_default())
        .collect();
    assert_eq!(refused, ["\"amal\"", "\"amal\"", "null", "null"]);
    assert!(e.session("not a cookie").expect("session").is_none());
    drop(e);

    // Refusals change nothing.
    for (args, input, why) in [
        (vec!["user", "create", "amal", "--role", "viewer"], "another long password\n", "exists"),
        (
            vec!["user", "create", "badr", "--role", "boss"],
            "another long password\n",
            "viewer, analyst, moderator or admin",
        ),
        (vec!["user", "create", "badr", "--role", "viewer"], "short\n", "too short"),
        (vec!["user", "create", "badr", "--role", "viewer"], "", "no password on standard input"),
        (vec!["user", "create", "a b", "--role", "viewer"], "another long password\n", "invalid user name"),
        (vec!["user", "passwd", "nobody"], "another long password\n", "no user named"),
        (vec!["user", "disable", "nobody"], "", "no user named"),
    ] {
        let o = run_with_input(&db, &args, input);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(why), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(users(&db).as_array().map(Vec::len), Some(1));
}

#[test]
fn a_new_password_or_disabling_ends_the_users_sessions_and_both_are_audited() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("u.db");
    let first = "first long password";
    assert!(
        run_with_input(&db, &["user", "create", "badr", "--role", "moderator"], &format!("{first}\n"))
            .status
            .success()
    );
    let before = engine(&db).login("badr", first).expect("login").expect("signed in");

    let second = "second long password";
    let o = run_with_input(&db, &["user", "passwd", "badr"], &format!("{second}\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut e = engine(&db);
    assert!(e.session(&before.cookie).expect("session").is_none(), "a new password ends the sessions");
    assert!(e.login("badr", first).expect("login").is_none());
    let after = e.login("badr", second).expect("login").expect("signed in");
    assert!(e.logout(&after.cookie).expect("logout"));
    assert!(e.session(&after.cookie).expect("session").is_none());
    let kept = e.login("badr", second).expect("login").expect("signed in");
    drop(e);

    let o = run(&db, &["user", "disable", "badr"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!run(&db, &["user", "disable", "badr"]).status.success(), "disabled already");
    let mut e = engine(&db);
    assert!(e.session(&kept.cookie).expect("session").is_none(), "disabling ends the sessions");
    assert!(e.login("badr", second).expect("login").is_none(), "a disabled user cannot sign in");
    drop(e);
    assert!(users(&db)[0]["disabled_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    let o = run_with_input(&db, &["user", "create", "badr", "--role", "viewer"], "a third long password\n");
    assert!(!o.status.success(), "a disabled user's name is not given again");

    let audit = stdout(&run(&db, &["--json", "audit"]));
    let events: Vec<(String, String)> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .map(|v| {
            (v["actor"].as_str().unwrap_or("").to_owned(), v["action"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("cli", "user.create"),
        ("badr", "auth.login"),
        ("cli", "user.passwd"),
        ("-", "auth.refused"),
        ("badr", "auth.login"),
        ("badr", "auth.logout"),
        ("badr", "auth.login"),
        ("cli", "user.disable"),
        ("-", "auth.refused"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(events, expected);
    assert!(!audit.contains(first) && !audit.contains(second), "a password in the audit log");
}

/// At a terminal the password is asked twice, without echo; two that
/// differ change nothing. (`script` gives the command a terminal.)
#[test]
fn at_a_terminal_the_password_is_asked_twice() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("u.db");
    // Answers each prompt once it is shown, as a person would; returns
    // whether the command succeeded and everything the terminal showed.
    let at_terminal = |args: &str, answers: [&str; 2]| -> (bool, String) {
        let command = format!("{} --db {} {args}", env!("CARGO_BIN_EXE_marsad"), db.display());
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("MARSAD_DB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script (util-linux) runs");
        let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = {
            let shown = shown.clone();
            let mut out = child.stdout.take().expect("stdout");
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    shown.lock().expect("lock").extend_from_slice(&buf[..n]);
                }
            })
        };
        let text = |shown: &std::sync::Mutex<Vec<u8>>| {
            String::from_utf8_lossy(&shown.lock().expect("lock")).into_owned()
        };
        let mut stdin = child.stdin.take().expect("stdin");
        for (prompt, answer) in ["new password for amal: ", "the same again: "].into_iter().zip(answers) {
            let started = std::time::Instant::now();
            while !text(&shown).contains(prompt) {
                assert!(started.elapsed().as_secs() < 30, "no prompt {prompt:?}: {}", text(&shown));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            stdin.write_all(format!("{answer}\n").as_bytes()).expect("type");
        }
        let status = child.wait().expect("wait");
        drop(stdin);
        reader.join().expect("reader");
        (status.success(), text(&shown))
    };
    let (ok, shown) =
        at_terminal("user create amal --role viewer", ["a long password one", "a long password two"]);
    assert!(!ok, "{shown}");
    assert!(shown.contains("the two passwords differ"), "{shown}");
    assert_eq!(users(&db).as_array().map(Vec::len), Some(0));
    let (ok, shown) =
        at_terminal("user create amal --role viewer", ["a long password one", "a long password one"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("user amal (viewer) created"), "{shown}");
    assert!(!shown.contains("a long password one"), "the password was echoed: {shown}");
    assert!(engine(&db).login("amal", "a long password one").expect("login").is_some());
}
