//! [`ParallelIteratorExt`] and its adapter [`InContext`].

use opentelemetry::Context;
use rayon::iter::plumbing::{Consumer, ProducerCallback, UnindexedConsumer};
use rayon::iter::{IndexedParallelIterator, ParallelIterator};

use super::plumbing::{ContextCallback, ContextConsumer};

/// Run the rest of a parallel iterator in a context, on whichever pool thread runs it.
///
/// Implemented for every [`ParallelIterator`]. See the [module docs](super) for where
/// to place it and why.
pub trait ParallelIteratorExt: ParallelIterator {
    /// Captures [`Context::current`] now; every adapter after this one runs in it.
    ///
    /// ```
    /// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
    /// use rayon::prelude::*;
    /// use weft_context::follow::rayon::ParallelIteratorExt;
    ///
    /// let _guard = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
    /// let all_in_context = (0..1_000)
    ///     .into_par_iter()
    ///     .in_current_context()
    ///     .all(|_| Context::current().baggage().get("k").is_some());
    /// assert!(all_in_context);
    /// ```
    fn in_current_context(self) -> InContext<Self> {
        self.in_context(Context::current())
    }

    /// Like [`in_current_context`](Self::in_current_context), with an explicit context.
    fn in_context(self, cx: Context) -> InContext<Self> {
        InContext { base: self, cx }
    }
}

impl<I: ParallelIterator> ParallelIteratorExt for I {}

/// A parallel iterator whose downstream work runs with a captured [`Context`] attached.
///
/// Made by [`ParallelIteratorExt::in_current_context`] or
/// [`ParallelIteratorExt::in_context`]. It is indexed when its base is, so `collect`,
/// `zip` and `enumerate` keep their order.
#[derive(Clone, Debug)]
#[must_use = "parallel iterators are lazy and do nothing unless consumed"]
pub struct InContext<I> {
    base: I,
    cx: Context,
}

impl<I: ParallelIterator> ParallelIterator for InContext<I> {
    type Item = I::Item;

    fn drive_unindexed<C>(self, consumer: C) -> C::Result
    where
        C: UnindexedConsumer<Self::Item>,
    {
        self.base
            .drive_unindexed(ContextConsumer::new(consumer, self.cx))
    }

    fn opt_len(&self) -> Option<usize> {
        self.base.opt_len()
    }
}

impl<I: IndexedParallelIterator> IndexedParallelIterator for InContext<I> {
    fn drive<C>(self, consumer: C) -> C::Result
    where
        C: Consumer<Self::Item>,
    {
        self.base.drive(ContextConsumer::new(consumer, self.cx))
    }

    fn len(&self) -> usize {
        self.base.len()
    }

    fn with_producer<CB>(self, callback: CB) -> CB::Output
    where
        CB: ProducerCallback<Self::Item>,
    {
        self.base
            .with_producer(ContextCallback::new(callback, self.cx))
    }
}
