//! The browser bundle under `/pkg/`: compressed once at the strongest settings after start, and
//! never served stale when a rebuild replaces a file.

use std::{io::Read, time::Duration};

use reqwest::{header, StatusCode};

use crate::helpers::*;

/// A site folder with a `pkg/` of one wasm module (compressible, like a real one) and one script.
fn site() -> (std::path::PathBuf, Vec<u8>) {
    let root = std::env::temp_dir().join(unique("gatehouse-site-"));
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    let wasm: Vec<u8> = (0..200_000u32)
        .flat_map(|i| [0x20, (i % 7) as u8, (i % 13) as u8, 0x0b])
        .collect();
    std::fs::write(root.join("pkg/app.wasm"), &wasm).unwrap();
    std::fs::write(
        root.join("pkg/app.js"),
        "export function start() {}\n".repeat(500),
    )
    .unwrap();
    (root, wasm)
}

async fn fetch(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(header::ACCEPT_ENCODING, accept)
        .send()
        .await
        .unwrap()
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_is_served_compressed_at_the_strongest_setting_and_never_stale() {
    let (root, wasm) = site();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.site_root = root.to_string_lossy().into_owned();
    })
    .await;

    // Compressed in the background: soon every download is the file at brotli's quality 11.
    let mut strong = None;
    for _ in 0..100 {
        let res = fetch(&app, "/pkg/app.wasm", "gzip, deflate, br, zstd").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
        let etag = res.headers().get(header::ETAG).cloned();
        let body = res.bytes().await.unwrap();
        assert_eq!(unbrotli(&body), wasm);
        if let Some(etag) = etag {
            strong = Some((etag, body.len()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (etag, size) = strong.expect("the bundle was compressed within 10 s");
    let fast = fetch(&app, "/pkg/app.js", "br").await;
    assert_eq!(fast.headers()[header::CONTENT_ENCODING], "br");
    let mut quality_4 = Vec::new();
    brotli::BrotliCompress(
        &mut &wasm[..],
        &mut quality_4,
        &brotli::enc::BrotliEncoderParams {
            quality: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        size < quality_4.len(),
        "{size} bytes, {} at quality 4",
        quality_4.len()
    );

    // Revalidation: the browser's copy is still good.
    let res = app
        .client
        .get(app.url("/pkg/app.wasm"))
        .header(header::ACCEPT_ENCODING, "br")
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(res.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("max-age"));

    // Without brotli: gzip, at its best setting.
    let res = fetch(&app, "/pkg/app.wasm", "gzip").await;
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&res.bytes().await.unwrap()[..])
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, wasm);

    // Without either: the file itself.
    let res = fetch(&app, "/pkg/app.wasm", "identity").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(res.bytes().await.unwrap(), wasm);

    // A rebuild replaces the file: the new one is served, never the bytes compressed before.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let rebuilt: Vec<u8> = wasm.iter().rev().copied().collect();
    std::fs::write(root.join("pkg/app.wasm"), &rebuilt).unwrap();
    let res = fetch(&app, "/pkg/app.wasm", "br").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(res.headers().get(header::ETAG), Some(&etag));
    let body = res.bytes().await.unwrap();
    let served = if body.len() == rebuilt.len() {
        body.to_vec()
    } else {
        unbrotli(&body)
    };
    assert_eq!(served, rebuilt);

    // Nothing outside the folder is reachable through it.
    let res = fetch(&app, "/pkg/..%2Fsecret.key", "br").await;
    assert_ne!(res.status(), StatusCode::OK);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_compressed_by_the_build_is_served_compressed_from_the_first_request() {
    let (root, wasm) = site();
    let site_root = root.to_string_lossy().into_owned();
    let done = gatehouse::server::bundle::precompress(&site_root).unwrap();
    assert!(done.starts_with("compressed 2 files"), "{done}");
    let brotli = std::fs::read(root.join("pkg.compressed/app.wasm.br")).unwrap();
    let gzip = std::fs::read(root.join("pkg.compressed/app.wasm.gz")).unwrap();
    assert_eq!(unbrotli(&brotli), wasm);
    // Run again, it keeps what is up to date.
    let again = gatehouse::server::bundle::precompress(&site_root).unwrap();
    assert!(again.starts_with("compressed 0 files"), "{again}");

    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.site_root = site_root.clone()).await;
    // The very first download is the build's brotli, with its ETag: nothing waits for a
    // compressor.
    let res = fetch(&app, "/pkg/app.wasm", "gzip, deflate, br, zstd").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
    assert!(res.headers().contains_key(header::ETAG));
    assert_eq!(res.bytes().await.unwrap(), brotli);
    let res = fetch(&app, "/pkg/app.wasm", "gzip").await;
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(res.bytes().await.unwrap(), gzip);

    // A rebuilt file newer than its compressed forms is never answered with them.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let rebuilt = "export function start() { return 2; }\n".repeat(400);
    std::fs::write(root.join("pkg/app.js"), &rebuilt).unwrap();
    let res = fetch(&app, "/pkg/app.js", "br").await;
    assert_eq!(res.status(), StatusCode::OK);
    let encoding = res
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.bytes().await.unwrap();
    let text = match encoding.as_deref() {
        Some("br") => unbrotli(&body),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        _ => body.to_vec(),
    };
    assert!(
        text == rebuilt.as_bytes(),
        "a rebuilt file was answered with its old compressed form"
    );
    let _ = std::fs::remove_dir_all(&root);
}
