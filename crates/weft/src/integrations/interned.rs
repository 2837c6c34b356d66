//! Strings that recur in every HTTP span (the route template, the span name made of it,
//! the host called, the user agent), copied once into leaked memory and then borrowed
//! as `&'static str`: an attribute holding one needs no allocation when the span starts
//! and no free when its record is dropped, two of the costliest steps of a request's
//! span on a busy allocator.
//!
//! Leaking is bounded: each pool holds at most a fixed number of strings of bounded
//! length, and once a pool is full its strings are copied per request as before. Route
//! templates come from the application's router, so they are few; host names and user
//! agents come from the peer (a server's `Host` header), so their pool is small, and a
//! caller that fills it with junk only costs later requests the copy they made before.
//!
//! Each thread keeps its own set of the strings it has used, so a hit takes no lock
//! and touches no memory another thread writes; only a thread's first sight of a
//! string takes the global lock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, PoisonError};

/// Which bound a string counts against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pool {
    /// Chosen by the application: route templates and span names.
    #[cfg(any(feature = "tower", feature = "actix-web"))]
    Server,
    /// Chosen by the peer or per call: hosts and user agents.
    Peer,
}

impl Pool {
    const fn max_strings(self) -> usize {
        match self {
            #[cfg(any(feature = "tower", feature = "actix-web"))]
            Pool::Server => 2048,
            Pool::Peer => 32,
        }
    }
}

/// Longer strings are not worth keeping forever.
const MAX_LEN: usize = 256;

/// A word-at-a-time multiplicative hash (FxHash's): these strings are short, and
/// SipHash would cost more than the copy saved. The pools are bounded, so keys chosen
/// to collide can only slow lookups in a small set.
#[derive(Default)]
struct WordHash(u64);

impl WordHash {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(word.try_into().map_or(0, u64::from_le_bytes));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
}

/// The span name for each method, `METHOD route`, when the key is a route.
type Names = [Option<&'static str>; METHODS.len()];

/// The methods a span name starts with: `known_method`'s, and `HTTP` for the others.
const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "HTTP",
];

type Map = HashMap<&'static str, Names, BuildHasherDefault<WordHash>>;

struct Global {
    strings: Map,
    counts: [usize; 2],
}

static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

thread_local! {
    /// The entries this thread has used, copied from the global map.
    static LOCAL: RefCell<Map> = RefCell::new(Map::default());
}

/// `s` as a leaked string equal to it, if it is one or its pool has room; `None`: the
/// caller copies it.
pub(crate) fn intern(pool: Pool, s: &str) -> Option<&'static str> {
    lookup(pool, s, None).map(|(s, _)| s)
}

/// The route and the span name `METHOD route` as leaked strings, found in one lookup
/// (see [`intern`]). `method` is one of `known_method`'s, or `HTTP`.
#[cfg(any(feature = "tower", feature = "actix-web"))]
pub(crate) fn route_and_name(
    route: &str,
    method: &'static str,
) -> Option<(&'static str, &'static str)> {
    let i = METHODS.iter().position(|m| *m == method)?;
    let (route, name) = lookup(Pool::Server, route, Some(i))?;
    Some((route, name?))
}

/// The leaked `s` and, if `method` is given, its span name for that method.
fn lookup(
    pool: Pool,
    s: &str,
    method: Option<usize>,
) -> Option<(&'static str, Option<&'static str>)> {
    if s.len() > MAX_LEN {
        return None;
    }
    // `try_with`: during thread teardown the map may be gone; copying still works.
    LOCAL
        .try_with(|local| {
            if let Some((key, names)) = local.borrow().get_key_value(s) {
                match method {
                    None => return Some((*key, None)),
                    Some(i) if names[i].is_some() => return Some((*key, names[i])),
                    Some(_) => {}
                }
            }
            let (key, names) = lookup_global(pool, s, method)?;
            local.borrow_mut().insert(key, names);
            Some((key, method.and_then(|i| names[i])))
        })
        .ok()
        .flatten()
}

fn lookup_global(pool: Pool, s: &str, method: Option<usize>) -> Option<(&'static str, Names)> {
    let mut global = GLOBAL.lock().unwrap_or_else(PoisonError::into_inner);
    let global = global.get_or_insert_with(|| Global {
        strings: Map::default(),
        counts: [0; 2],
    });
    let count = &mut global.counts[pool as usize];
    let key = match global.strings.get_key_value(s) {
        Some((key, _)) => *key,
        None if *count < pool.max_strings() => {
            *count += 1;
            let leaked: &'static str = Box::leak(s.into());
            global.strings.insert(leaked, [None; METHODS.len()]);
            leaked
        }
        None => return None,
    };
    let names = global.strings.get_mut(key)?;
    if let Some(i) = method {
        if names[i].is_none() && *count < pool.max_strings() {
            *count += 1;
            let name = format!("{} {key}", METHODS[i]);
            names[i] = Some(Box::leak(name.into_boxed_str()));
        }
    }
    Some((key, *names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "tower", feature = "actix-web"))]
    fn the_same_string_is_the_same_leak() {
        let a = intern(Pool::Server, "/interned/test").expect("room");
        let b = intern(Pool::Server, &String::from("/interned/test")).expect("room");
        assert_eq!(a, "/interned/test");
        assert!(std::ptr::eq(a, b));
        let (route, name) = route_and_name("/interned/test", "GET").expect("room");
        assert!(std::ptr::eq(a, route));
        assert_eq!(name, "GET /interned/test");
        let (_, again) = route_and_name("/interned/test", "GET").expect("room");
        assert!(std::ptr::eq(name, again));
        assert_eq!(
            route_and_name("/interned/test", "HTTP").expect("room").1,
            "HTTP /interned/test"
        );
        assert_eq!(route_and_name("/interned/test", "BREW"), None);
        // Another thread finds the same string through the global set.
        let other = std::thread::spawn(|| intern(Pool::Server, "/interned/test"))
            .join()
            .expect("no panic")
            .expect("room");
        assert!(std::ptr::eq(a, other));
    }

    #[test]
    fn long_strings_and_full_pools_are_not_kept() {
        assert_eq!(intern(Pool::Peer, &"h".repeat(MAX_LEN + 1)), None);
        let kept = (0..Pool::Peer.max_strings() + 8)
            .filter(|i| intern(Pool::Peer, &format!("host-{i}.test")).is_some())
            .count();
        assert!(kept <= Pool::Peer.max_strings(), "{kept}");
    }
}
