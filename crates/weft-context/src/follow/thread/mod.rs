//! A drop-in for [`std::thread`] whose spawned threads start in the spawner's context.
//!
//! [`std::thread::spawn`] starts the new thread with an *empty* [`opentelemetry::Context`]:
//! the current context lives in a thread-local, and thread-locals do not travel. A span
//! opened in the new thread therefore starts a **new trace**, detached from the span
//! that spawned it. Swap the import and the child's spans land under the parent:
//!
//! ```diff
//! - use std::thread;
//! + use weft_context::follow::thread;
//! ```
//!
//! [`spawn`], [`Builder`] and [`scope`] have the signatures and return types of their
//! `std` counterparts; everything else in `std::thread` is re-exported unchanged, so the
//! swap compiles without other edits. The context is captured when the thread is
//! *spawned* and stays attached for the whole closure.
//!
//! ```
//! use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
//! use weft_context::follow::thread;
//!
//! let _guard = Context::current_with_baggage([KeyValue::new("job", "42")]).attach();
//! let seen = thread::spawn(|| Context::current().baggage().get("job").map(|v| v.to_string()))
//!     .join()
//!     .ok()
//!     .flatten();
//! assert_eq!(seen.as_deref(), Some("42"));
//! ```

mod scope;

use std::io;

pub use scope::{Scope, scope};
// Everything else in `std::thread`, so `use weft_context::follow::thread;` can replace
// `use std::thread;` without touching any other line.
pub use std::thread::{
    AccessError, JoinHandle, LocalKey, Result, ScopedJoinHandle, Thread, ThreadId,
    available_parallelism, current, panicking, park, park_timeout, sleep, yield_now,
};

use crate::follow::wrap::wrap;

/// Spawns a thread that runs `f` in the context that is current *now*.
///
/// Same signature and panics as [`std::thread::spawn`].
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(wrap(f))
}

/// A [`std::thread::Builder`] whose threads start in the spawner's context.
///
/// ```
/// use weft_context::follow::thread;
///
/// let handle = thread::Builder::new().name("worker".into()).spawn(|| 1 + 1)?;
/// assert_eq!(handle.join().ok(), Some(2));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    inner: std::thread::Builder,
}

impl Builder {
    /// Same as [`std::thread::Builder::new`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: std::thread::Builder::new(),
        }
    }

    /// Same as [`std::thread::Builder::name`].
    #[must_use]
    pub fn name(self, name: String) -> Self {
        Self {
            inner: self.inner.name(name),
        }
    }

    /// Same as [`std::thread::Builder::stack_size`].
    #[must_use]
    pub fn stack_size(self, size: usize) -> Self {
        Self {
            inner: self.inner.stack_size(size),
        }
    }

    /// Like [`std::thread::Builder::spawn`]; the thread runs `f` in the context current now.
    ///
    /// # Errors
    ///
    /// The OS error when the thread cannot be created, exactly as `std`.
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner.spawn(wrap(f))
    }

    /// Like [`std::thread::Builder::spawn_scoped`], on a [`Scope`] from [`scope`].
    ///
    /// # Errors
    ///
    /// The OS error when the thread cannot be created, exactly as `std`.
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.inner.spawn_scoped(scope.as_std(), wrap(f))
    }

    /// Unwraps the `std` builder, for options this wrapper does not mirror.
    pub fn into_std(self) -> std::thread::Builder {
        self.inner
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl From<std::thread::Builder> for Builder {
    /// Keeps every option already set on the `std` builder.
    fn from(inner: std::thread::Builder) -> Self {
        Self { inner }
    }
}
