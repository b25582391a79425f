//! The browser bundle (`<site root>/pkg`: wasm, JavaScript, CSS) compressed once, at the
//! strongest settings, and kept in memory: `/pkg/` answers with those bytes instead of
//! compressing every download on the fly at the fast setting the compression layer uses. Brotli
//! at quality 11 makes the main wasm module about a sixth smaller on the wire than quality 4.
//!
//! The release build writes the compressed forms of each file (`gatehouse precompress`:
//! `pkg.compressed/app.wasm.br` and `.gz`); the server reads them at start, so the first download after a
//! start is as small as every later one and starting compresses nothing. A file without them (or
//! with older ones than itself) is compressed in the background after start, which takes a few
//! seconds of one core; until a file is done, and whenever a file on disk no longer is the one
//! compressed (a rebuild), the file is served as before.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, LazyLock, RwLock},
    time::SystemTime,
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// One file, as it was on disk when compressed.
struct Compressed {
    modified: SystemTime,
    len: u64,
    content_type: &'static str,
    etag: HeaderValue,
    brotli: Arc<[u8]>,
    gzip: Arc<[u8]>,
}

/// Every compressed file of the process, by path on disk (apps in one process share them).
static FILES: LazyLock<RwLock<HashMap<PathBuf, Arc<Compressed>>>> = LazyLock::new(Default::default);
/// The folders compressed or being compressed.
static STARTED: LazyLock<std::sync::Mutex<Vec<PathBuf>>> = LazyLock::new(Default::default);

fn content_type(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "wasm" => Some("application/wasm"),
        "js" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        _ => None,
    }
}

/// The build step: writes the brotli and gzip forms of every file of `<site_root>/pkg` that has
/// none newer than itself into `<site_root>/pkg.compressed`; returns what it did, to print.
pub fn precompress(site_root: &str) -> Result<String, String> {
    let dir = Path::new(site_root).join("pkg");
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        format!(
            "cannot read {} (build the site first, or set LEPTOS_SITE_ROOT): {e}",
            dir.display()
        )
    })?;
    let out = Path::new(site_root).join(COMPRESSED_DIR);
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot make {}: {e}", out.display()))?;
    let (mut written, mut kept, mut raw, mut small) = (0, 0, 0u64, 0u64);
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if content_type(&path).is_none() {
            continue;
        }
        let fail = |e: std::io::Error| format!("{}: {e}", path.display());
        let meta = std::fs::metadata(&path).map_err(fail)?;
        if precompressed(&path, &meta).is_some() {
            kept += 1;
            continue;
        }
        let bytes = std::fs::read(&path).map_err(fail)?;
        let brotli = brotli_of(&bytes).map_err(fail)?;
        let gzip = gzip_of(&bytes).map_err(fail)?;
        // Written beside, then renamed: a server never reads half a file.
        for (suffix, data) in [("br", &brotli), ("gz", &gzip)] {
            let target = with_suffix(&path, suffix);
            let partial = with_suffix(&path, &format!("{suffix}.partial"));
            std::fs::write(&partial, data).map_err(fail)?;
            std::fs::rename(&partial, &target).map_err(fail)?;
        }
        written += 1;
        raw += bytes.len() as u64;
        small += brotli.len() as u64;
    }
    Ok(format!(
        "compressed {written} files of {} ({raw} bytes to {small} with brotli); {kept} were compressed already",
        dir.display()
    ))
}

/// Where the build keeps a file's compressed form: `<site root>/pkg.compressed/<name>.<suffix>`.
/// Not beside the file: a static file server that answers `app.wasm` with a neighbouring
/// `app.wasm.br` would answer with an old one after a rebuild that did not compress again.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".");
    name.push(suffix);
    let dir = path.parent().unwrap_or(Path::new("."));
    dir.with_file_name(COMPRESSED_DIR).join(name)
}

/// The folder beside `pkg/` with the build's compressed forms.
const COMPRESSED_DIR: &str = "pkg.compressed";

/// The brotli and gzip forms written beside `path` by the build, when both are at least as new
/// as the file (`meta`): a rebuild that replaced the file leaves them out of date.
fn precompressed(path: &Path, meta: &std::fs::Metadata) -> Option<(PathBuf, PathBuf)> {
    let modified = meta.modified().ok()?;
    let fresh = |p: PathBuf| {
        std::fs::metadata(&p)
            .ok()
            .and_then(|m| m.modified().ok())
            .filter(|t| *t >= modified)
            .map(|_| p)
    };
    Some((
        fresh(with_suffix(path, "br"))?,
        fresh(with_suffix(path, "gz"))?,
    ))
}

/// Reads the forms the build wrote for the files of `dir`, at start; returns how many files have
/// them (the others are left to the background).
fn load_precompressed(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut loaded = 0;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let Some(content_type) = content_type(&path) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let Some((br, gz)) = precompressed(&path, &meta) else {
            continue;
        };
        let (Ok(brotli), Ok(gzip), Ok(modified)) =
            (std::fs::read(br), std::fs::read(gz), meta.modified())
        else {
            continue;
        };
        let compressed = Compressed {
            modified,
            len: meta.len(),
            content_type,
            etag: etag(modified, meta.len()),
            brotli: brotli.into(),
            gzip: gzip.into(),
        };
        if let Ok(mut all) = FILES.write() {
            all.insert(path, Arc::new(compressed));
            loaded += 1;
        }
    }
    loaded
}

/// Reads the forms the build wrote at once, and compresses the files of `<site_root>/pkg` that
/// have none in the background, once per process and folder.
pub fn compress_in_background(site_root: &str) {
    let dir = Path::new(site_root).join("pkg");
    {
        let Ok(mut started) = STARTED.lock() else {
            return;
        };
        if started.contains(&dir) || !dir.is_dir() {
            return;
        }
        started.push(dir.clone());
    }
    let loaded = load_precompressed(&dir);
    if loaded > 0 {
        tracing::info!(
            files = loaded,
            "read the browser bundle compressed by the build"
        );
    }
    std::thread::Builder::new()
        .name("bundle-compressor".into())
        .spawn(move || {
            let began = std::time::Instant::now();
            match compress_dir(&dir) {
                Ok((files, raw, brotli)) => tracing::info!(
                    files,
                    raw_bytes = raw,
                    brotli_bytes = brotli,
                    took_ms = began.elapsed().as_millis() as u64,
                    "compressed the browser bundle"
                ),
                Err(e) => tracing::warn!(
                    folder = %dir.display(),
                    error = %e,
                    "could not compress the browser bundle; it is compressed per download instead"
                ),
            }
        })
        .map(drop)
        .unwrap_or_else(|e| tracing::warn!(error = %e, "could not start the bundle compressor"));
}

/// Compresses the files of `dir`; returns how many, and their bytes before and after brotli.
fn compress_dir(dir: &Path) -> std::io::Result<(usize, u64, u64)> {
    let (mut files, mut raw, mut small) = (0, 0, 0);
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(content_type) = content_type(&path) else {
            continue;
        };
        // The file as stat'ed before reading it: one being rewritten meanwhile (a rebuild) reads
        // at another length and is skipped, and one rewritten after has a newer time, which
        // `serve_compressed` compares on every request.
        let meta = std::fs::metadata(&path)?;
        let (modified, len) = (meta.modified()?, meta.len());
        let loaded = FILES.read().ok().and_then(|all| {
            all.get(&path)
                .map(|done| (done.modified, done.len) == (modified, len))
        });
        if loaded == Some(true) {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        if bytes.len() as u64 != len {
            continue;
        }
        let brotli = brotli_of(&bytes)?;
        let gzip = gzip_of(&bytes)?;
        files += 1;
        raw += len;
        small += brotli.len() as u64;
        let compressed = Compressed {
            modified,
            len,
            content_type,
            etag: etag(modified, len),
            brotli: brotli.into(),
            gzip: gzip.into(),
        };
        if let Ok(mut all) = FILES.write() {
            all.insert(path, Arc::new(compressed));
        }
    }
    Ok((files, raw, small))
}

fn brotli_of(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    {
        // Quality 11, a window of 4 MiB (22 bits; every file of the bundle fits in it).
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(bytes)?;
        writer.flush()?;
    }
    Ok(out)
}

fn gzip_of(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::best(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn etag(modified: SystemTime, len: u64) -> HeaderValue {
    let nanos = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    HeaderValue::from_str(&format!("\"{len:x}-{nanos:x}\""))
        .unwrap_or(HeaderValue::from_static("\"\""))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

/// The best encoding of ours that `Accept-Encoding` allows (a `q=0` refuses one).
fn accepted(headers: &HeaderMap) -> Option<Encoding> {
    let mut best = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match name {
                "br" => return Some(Encoding::Brotli),
                "gzip" => best = Some(Encoding::Gzip),
                _ => {}
            }
        }
    }
    best
}

/// Answers a `GET` or `HEAD` of a compressed file of `/pkg/` with its compressed bytes, when the
/// client accepts them and the file on disk is still the one compressed; anything else goes on.
pub async fn serve_compressed(
    State(site_root): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let method = request.method();
    if !(path.starts_with("/pkg/") && (method == Method::GET || method == Method::HEAD)) {
        return next.run(request).await;
    }
    let Some(encoding) = accepted(request.headers()) else {
        return next.run(request).await;
    };
    let name = &path["/pkg/".len()..];
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return next.run(request).await;
    }
    let file = Path::new(&*site_root).join("pkg").join(name);
    let found = FILES.read().ok().and_then(|all| all.get(&file).cloned());
    let Some(compressed) = found else {
        return next.run(request).await;
    };
    let current = tokio::fs::metadata(&file)
        .await
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())));
    if current != Some((compressed.modified, compressed.len)) {
        return next.run(request).await;
    }
    let not_modified = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tags| tags.as_bytes() == compressed.etag.as_bytes());
    let (coding, bytes) = match encoding {
        Encoding::Brotli => ("br", &compressed.brotli),
        Encoding::Gzip => ("gzip", &compressed.gzip),
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(compressed.content_type),
        ),
        (header::CONTENT_ENCODING, HeaderValue::from_static(coding)),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
        (header::ETAG, compressed.etag.clone()),
    ];
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(axum::body::Bytes::from_owner(Arc::clone(bytes)))
    };
    let mut response = (headers, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn brotli_is_preferred_and_a_zero_quality_refuses() {
        assert_eq!(
            accepted(&with("gzip, deflate, br, zstd")),
            Some(Encoding::Brotli)
        );
        assert_eq!(accepted(&with("gzip")), Some(Encoding::Gzip));
        assert_eq!(accepted(&with("br;q=0, gzip;q=0.5")), Some(Encoding::Gzip));
        assert_eq!(accepted(&with("br;q=0, gzip;q=0")), None);
        assert_eq!(accepted(&with("identity")), None);
        assert_eq!(accepted(&HeaderMap::new()), None);
    }

    #[test]
    fn what_is_compressed_decompresses_to_the_file() {
        let text = b"(module (func $a) (func $b)) ".repeat(2000);
        let brotli = brotli_of(&text).unwrap();
        assert!(brotli.len() * 20 < text.len(), "{} bytes", brotli.len());
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &brotli[..], &mut back).unwrap();
        assert_eq!(back, text);
        let gzip = gzip_of(&text).unwrap();
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut back)
            .unwrap();
        assert_eq!(back, text);
    }
}
