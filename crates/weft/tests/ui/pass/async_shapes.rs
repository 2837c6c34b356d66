// Async shapes: `async fn` in impls and traits, `Send` futures (spawnable), async
// `Result`s with `?`, and async blocks returned by plain functions.
#![deny(warnings, unused)]

use std::future::Future;
use std::pin::Pin;

struct Store;

impl Store {
    #[weft::instrument("Loading {key}")]
    async fn load(&self, key: &str) -> Result<String, std::io::Error> {
        let text = read(key).await?;
        Ok(text)
    }
}

async fn read(key: &str) -> Result<String, std::io::Error> {
    Ok(key.to_owned())
}

trait Fetch {
    fn fetch(&self, id: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + '_>>;
}

impl Fetch for Store {
    #[weft::instrument("Fetching {id}")]
    fn fetch(&self, id: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + '_>> {
        Box::pin(async move { if id == 0 { Err("zero".into()) } else { Ok(id) } })
    }
}

#[weft::instrument("Ticking")]
fn tick() -> impl Future<Output = ()> + Send {
    async {}
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    let store = Store;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        assert_eq!(
            assert_send(store.load("k")).await.ok().as_deref(),
            Some("k")
        );
        assert_eq!(assert_send(store.fetch(1)).await, Ok(1));
        assert_send(tick()).await;
    });
}
