//! Decoders open only the file they are given: a playlist or a script named
//! like a video never makes ffmpeg connect anywhere nor read other files,
//! and a path that looks like a URL is a path.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use marsad_media::video::{VpdqOptions, hash_file};
use marsad_media::{Limits, MediaError, audio::fingerprint_file};

fn limits() -> Limits {
    Limits { timeout: Duration::from_secs(20), ..Limits::default() }
}

/// Whether anyone connected to `listener` (it is non-blocking).
fn connected(listener: &TcpListener) -> bool {
    match listener.accept() {
        Ok((mut s, _)) => {
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn a_playlist_named_like_a_video_opens_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    // An HLS playlist pointing at the loopback listener, and one pointing at
    // a local file outside the folder; a concat script likewise.
    let secret = dir.path().join("secret.ts");
    std::fs::write(&secret, b"not for the decoder").unwrap();
    let cases = [
        ("live.mp4", format!("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:{port}/a.ts\n")),
        ("local.mp4", format!("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{}\n", secret.display())),
        ("script.mp4", format!("ffconcat version 1.0\nfile 'http://127.0.0.1:{port}/b.mp4'\n")),
    ];
    for (name, body) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let v = hash_file(&path, &VpdqOptions::default(), &limits());
        assert!(
            matches!(v, Err(MediaError::Undecodable { .. } | MediaError::NoStream { .. })),
            "{name}: {v:?}"
        );
        let a = fingerprint_file(&path, 120, &limits());
        assert!(
            matches!(a, Err(MediaError::Undecodable { .. } | MediaError::NoStream { .. })),
            "{name}: {a:?}"
        );
    }
    assert!(!connected(&listener), "a decoder connected to the loopback listener");
}

#[test]
fn a_path_that_looks_like_a_url_is_a_path() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // Run from inside a folder holding a folder named `http:`: the relative
    // path `http://127.0.0.1:PORT/v.mp4` names a file there, not a server.
    let dir = tempfile::tempdir().unwrap();
    let rel = format!("http://127.0.0.1:{port}/v.mp4");
    let file = dir.path().join(&rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"junk, not a video").unwrap();
    let old = std::env::current_dir().unwrap();
    // Every other test of this binary names its files by absolute paths,
    // so changing the working folder here cannot disturb them.
    std::env::set_current_dir(dir.path()).unwrap();
    let v = hash_file(std::path::Path::new(&rel), &VpdqOptions::default(), &limits());
    std::env::set_current_dir(old).unwrap();
    assert!(matches!(v, Err(MediaError::Undecodable { .. })), "{v:?}");
    assert!(!connected(&listener), "the path was taken for a URL");
}
