//! A context with no span, made from one that has one, for the new root that an empty
//! or invalid carrier asks for.
//!
//! OpenTelemetry's [`Context`] can replace its span but never remove it, and an
//! invalid span is no substitute: opentelemetry_sdk's default sampler
//! (`Sampler::ParentBased`) treats any active span, valid or not, as a parent, so an
//! invalid one would make every span of the "new" trace unsampled. The new root is
//! therefore a fresh [`Context`], and the values worth keeping are copied over: the
//! telemetry-suppression flag, and every type registered with [`preserve_on_new_root`]
//! (weft registers its own entries). A type nobody registered cannot be found in a
//! [`Context`], so it is lost; a context without an active span never needs this and
//! keeps everything.

use std::any::TypeId;
use std::sync::{PoisonError, RwLock};

use opentelemetry::Context;

type Copier = fn(&Context, Context) -> Context;

static PRESERVED: RwLock<Vec<(TypeId, Copier)>> = RwLock::new(Vec::new());

/// Keeps values of type `T` in the current context when an attach starts a new root
/// inside a span (see [`attach_context`](super::attach_context)). Registering the same
/// type twice is harmless.
pub fn preserve_on_new_root<T: Clone + Send + Sync + 'static>() {
    let mut preserved = PRESERVED.write().unwrap_or_else(PoisonError::into_inner);
    if !preserved
        .iter()
        .any(|(known, _)| *known == TypeId::of::<T>())
    {
        preserved.push((TypeId::of::<T>(), copy_value::<T>));
    }
}

fn copy_value<T: Clone + Send + Sync + 'static>(from: &Context, to: Context) -> Context {
    match from.get::<T>() {
        Some(value) => to.with_value(value.clone()),
        None => to,
    }
}

/// `base` without its span: a fresh context carrying the registered values.
pub(crate) fn without_span(base: &Context) -> Context {
    let fresh = if base.is_telemetry_suppressed() {
        Context::new().with_telemetry_suppressed()
    } else {
        Context::new()
    };
    let preserved = PRESERVED.read().unwrap_or_else(PoisonError::into_inner);
    preserved.iter().fold(fresh, |cx, (_, copy)| copy(base, cx))
}
