//! Every resource of the app, created one way: its data cross from the server-rendered page to
//! the browser as JSON, and are read there with the same JSON reader as server functions'
//! answers (`serde_json::from_slice`). Leptos' default codec reads them with another
//! (`from_str`), which would build each data type's decoder into the wasm twice.

use std::future::Future;

use leptos::{
    prelude::*,
    server::codee::{Decoder, Encoder},
};
use serde::{de::DeserializeOwned, Serialize};

use crate::domain::AppError;

/// JSON, written with `serde_json` and read through its byte-slice reader.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, Self::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, Self::Error> {
        serde_json::from_slice(text.as_bytes())
    }
}

/// What a server function loads for a page: its answer, or the error it gave.
pub type Loaded<T> = Resource<Result<T, AppError>, Json>;

/// A resource that runs `fetcher` whenever `source` changes (on the server for the first render,
/// whose value the browser then reads from the page instead of fetching it again).
#[track_caller]
pub fn load<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Loaded<T>
where
    S: Send + Sync + Clone + PartialEq + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}
