//! Uploads: hashed exactly as `marsad hash pdq` (and python-threatexchange,
//! for RGB images) hashes them; HMA's multipart rules; the size bound.

use marsad_store::Role;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Server, left_nothing_in, python, send};

fn png() -> Vec<u8> {
    crate::busy_png(160, 120, 8)
}

fn form(field: &str, bytes: Vec<u8>) -> Form {
    Form::new().part(
        field.to_owned(),
        Part::bytes(bytes).file_name("upload.png").mime_str("image/png").expect("mime"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_hashes_as_python_threatexchange() {
    let s = Server::start().await;
    let bytes = png();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("x.png");
    std::fs::write(&file, &bytes).expect("write");
    let want = python(&format!(
        "from threatexchange.signal_type.pdq.signal import PdqSignal\nfrom pathlib import Path\nprint(PdqSignal.hash_from_file(Path({:?})))",
        file.display().to_string()
    ));
    let (status, body) =
        send(s.req(Method::POST, "/h/hash", Some(Role::Viewer)).multipart(form("photo", bytes.clone())))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"pdq": want.trim()}));
    let (_, body) = send(
        s.req(Method::POST, "/h/hash?types=pdq,md5", Some(Role::Viewer))
            .multipart(form("photo", bytes.clone())),
    )
    .await;
    assert_eq!(body["md5"].as_str().map(str::len), Some(32));

    // HMA's rules for the multipart body.
    let (status, body) =
        send(s.req(Method::POST, "/h/hash", Some(Role::Viewer)).multipart(form("file", bytes.clone()))).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"message": "no such content_type: 'file'"})));
    let (status, body) = send(s.req(Method::POST, "/h/hash", Some(Role::Viewer))).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"message": "Missing multipart/form-data file upload"}))
    );
    let two = form("photo", bytes.clone()).part("video", Part::bytes(bytes.clone()).file_name("b.png"));
    let (status, body) = send(s.req(Method::POST, "/h/hash", Some(Role::Viewer)).multipart(two)).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"message": "Only one file allowed per request"}))
    );
    let (status, body) = send(
        s.req(Method::POST, "/h/hash?types=vpdq", Some(Role::Viewer)).multipart(form("photo", bytes.clone())),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"message": "signal type 'vpdq' doesn't exist or is disabled"}))
    );
    // Below PDQ's quality threshold: python-threatexchange's empty hash.
    let flat = {
        let img = image::RgbImage::from_pixel(64, 64, image::Rgb([9, 9, 9]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).expect("png");
        out.into_inner()
    };
    let (_, body) =
        send(s.req(Method::POST, "/h/hash", Some(Role::Viewer)).multipart(form("photo", flat))).await;
    assert_eq!(body, json!({"pdq": ""}));
    // Not an image at all.
    let (status, _) = send(
        s.req(Method::POST, "/h/hash", Some(Role::Viewer)).multipart(form("photo", b"not an image".to_vec())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Banked by upload with metadata and a note; found by POST /m/lookup.
    s.post_json("/c/banks", json!({"name": "UP"})).await;
    let f = form("photo", bytes.clone())
        .text("metadata", json!({"content_id": "c-1", "json": {"k": 1}}).to_string())
        .text("note", "uploaded");
    let (status, added) =
        send(s.req(Method::POST, "/c/bank/UP/content", Some(Role::Moderator)).multipart(f)).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["signals"], json!({"pdq": want.trim()}));
    let id = added["id"].as_i64().expect("id");
    let (_, content) = s.get(&format!("/c/bank/UP/content/{id}")).await;
    assert_eq!(
        content["metadata"],
        json!({"collab": null, "content_id": "c-1", "content_uri": null, "json": {"k": 1}})
    );
    assert_eq!(content["note"], "uploaded");
    let bad = form("photo", bytes.clone()).text("metadata", json!({"nope": 1}).to_string());
    let (status, body) =
        send(s.req(Method::POST, "/c/bank/UP/content", Some(Role::Moderator)).multipart(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().expect("message").starts_with("Invalid metadata"));
    let (status, body) = send(s.req(Method::POST, "/c/bank/UP/content", Some(Role::Moderator))).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"message": "Neither `url` nor multipart file upload was received"}))
    );

    let (status, found) =
        send(s.req(Method::POST, "/m/lookup", Some(Role::Viewer)).multipart(form("photo", bytes.clone())))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found, json!({"pdq": {"UP": [{"bank_content_id": id, "distance": "0"}]}}));
    let (_, found) = send(
        s.req(Method::POST, "/m/lookup?include_hashes=true", Some(Role::Viewer))
            .multipart(form("photo", bytes)),
    )
    .await;
    assert_eq!(found["hashes"], json!({"pdq": want.trim()}));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_bound_is_refused() {
    let scratch = tempfile::tempdir().expect("scratch");
    let s = Server::start_with(|c| {
        c.max_upload = 64 * 1024;
        c.scratch = Some(scratch.path().to_owned());
    })
    .await;
    let big = vec![0u8; 200 * 1024];
    let (status, body) =
        send(s.req(Method::POST, "/h/hash", Some(Role::Viewer)).multipart(form("photo", big))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, json!({"message": "Content too large"}));
    // what was written of it is removed
    left_nothing_in(scratch.path()).await;
    // The server goes on.
    let (status, _) =
        send(s.req(Method::POST, "/h/hash", Some(Role::Viewer)).multipart(form("photo", png()))).await;
    assert_eq!(status, StatusCode::OK);
    left_nothing_in(scratch.path()).await;
    s.stop().await;
}
