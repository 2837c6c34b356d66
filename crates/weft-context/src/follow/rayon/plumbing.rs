//! rayon plumbing for [`InContext`](super::InContext).
//!
//! rayon drives a parallel iterator one of two ways, chosen by the adapters *after* ours:
//!
//! - **by consumer** (`drive`, `drive_unindexed`): the downstream consumer is handed to
//!   us; we wrap it in [`ContextConsumer`], whose folders and reducers attach the context
//!   around every call that runs downstream code;
//! - **by producer** (`with_producer`): downstream asks for our producer; we wrap the base
//!   producer in [`ContextProducer`], which attaches the context around `fold_with` and
//!   for the whole life of the iterator it hands out (adapters such as `zip` or
//!   `enumerate` iterate it directly instead of folding it).
//!
//! Every `split_at` clones the context into both halves, so the work keeps it whichever
//! thread steals it. A context clone is two `Arc` increments.

use opentelemetry::{Context, ContextGuard};
use rayon::iter::plumbing::{
    Consumer, Folder, Producer, ProducerCallback, Reducer, UnindexedConsumer,
};

/// Wraps a downstream consumer so its folders and reducer run in `cx`.
pub(super) struct ContextConsumer<C> {
    base: C,
    cx: Context,
}

impl<C> ContextConsumer<C> {
    pub(super) fn new(base: C, cx: Context) -> Self {
        Self { base, cx }
    }
}

impl<T, C: Consumer<T>> Consumer<T> for ContextConsumer<C> {
    type Folder = ContextFolder<C::Folder>;
    type Reducer = ContextReducer<C::Reducer>;
    type Result = C::Result;

    fn split_at(self, index: usize) -> (Self, Self, Self::Reducer) {
        let (left, right, reducer) = self.base.split_at(index);
        (
            Self::new(left, self.cx.clone()),
            Self::new(right, self.cx.clone()),
            ContextReducer {
                base: reducer,
                cx: self.cx,
            },
        )
    }

    fn into_folder(self) -> Self::Folder {
        // Making a folder can run user code: `fold`'s identity, `map_init`'s init.
        let base = {
            let _guard = self.cx.clone().attach();
            self.base.into_folder()
        };
        ContextFolder { base, cx: self.cx }
    }

    fn full(&self) -> bool {
        self.base.full()
    }
}

impl<T, C: UnindexedConsumer<T>> UnindexedConsumer<T> for ContextConsumer<C> {
    fn split_off_left(&self) -> Self {
        Self::new(self.base.split_off_left(), self.cx.clone())
    }

    fn to_reducer(&self) -> Self::Reducer {
        ContextReducer {
            base: self.base.to_reducer(),
            cx: self.cx.clone(),
        }
    }
}

/// The per-thread end of [`ContextConsumer`]: attaches around each call, never in between,
/// so the pool thread is clean again as soon as this piece of work returns.
pub(super) struct ContextFolder<F> {
    base: F,
    cx: Context,
}

impl<T, F: Folder<T>> Folder<T> for ContextFolder<F> {
    type Result = F::Result;

    fn consume(self, item: T) -> Self {
        let _guard = self.cx.clone().attach();
        Self {
            base: self.base.consume(item),
            cx: self.cx,
        }
    }

    fn consume_iter<I>(self, iter: I) -> Self
    where
        I: IntoIterator<Item = T>,
    {
        // One attach for a whole run of items: this is the path indexed sources
        // (ranges, slices, vectors) take, so the cost is per split, not per item.
        let _guard = self.cx.clone().attach();
        Self {
            base: self.base.consume_iter(iter),
            cx: self.cx,
        }
    }

    fn complete(self) -> Self::Result {
        let _guard = self.cx.attach();
        self.base.complete()
    }

    fn full(&self) -> bool {
        self.base.full()
    }
}

/// Runs the downstream reduction (`reduce`'s closure, for one) in the context.
pub(super) struct ContextReducer<R> {
    base: R,
    cx: Context,
}

impl<T, R: Reducer<T>> Reducer<T> for ContextReducer<R> {
    fn reduce(self, left: T, right: T) -> T {
        let _guard = self.cx.attach();
        self.base.reduce(left, right)
    }
}

/// Receives the base producer from rayon and hands downstream a [`ContextProducer`].
pub(super) struct ContextCallback<CB> {
    base: CB,
    cx: Context,
}

impl<CB> ContextCallback<CB> {
    pub(super) fn new(base: CB, cx: Context) -> Self {
        Self { base, cx }
    }
}

impl<T, CB: ProducerCallback<T>> ProducerCallback<T> for ContextCallback<CB> {
    type Output = CB::Output;

    fn callback<P>(self, producer: P) -> Self::Output
    where
        P: Producer<Item = T>,
    {
        self.base.callback(ContextProducer {
            base: producer,
            cx: self.cx,
        })
    }
}

/// A producer whose folding and iteration run in the context.
pub(super) struct ContextProducer<P> {
    base: P,
    cx: Context,
}

impl<P: Producer> Producer for ContextProducer<P> {
    type Item = P::Item;
    type IntoIter = ContextIter<P::IntoIter>;

    fn into_iter(self) -> Self::IntoIter {
        // Downstream adapters that iterate (zip, enumerate, rev, chunks, step_by) call
        // their own closures *between* our `next` calls, so attaching inside `next` would
        // miss them. The guard instead lives as long as the iterator, which rayon creates
        // and drops within one leaf on one thread; `ContextGuard` is `!Send`, so the
        // compiler holds it to that.
        let guard = self.cx.attach();
        ContextIter {
            iter: self.base.into_iter(),
            _guard: guard,
        }
    }

    fn min_len(&self) -> usize {
        self.base.min_len()
    }

    fn max_len(&self) -> usize {
        self.base.max_len()
    }

    fn split_at(self, index: usize) -> (Self, Self) {
        let (left, right) = self.base.split_at(index);
        (
            Self {
                base: left,
                cx: self.cx.clone(),
            },
            Self {
                base: right,
                cx: self.cx,
            },
        )
    }

    fn fold_with<F>(self, folder: F) -> F
    where
        F: Folder<Self::Item>,
    {
        // `folder` is the downstream chain (`map`'s closure, `collect`'s sink, …), so one
        // attach here covers all of it for this leaf.
        let _guard = self.cx.attach();
        self.base.fold_with(folder)
    }
}

/// The iterator of a [`ContextProducer`]; the context stays attached until it is dropped.
pub(super) struct ContextIter<I> {
    // Field order matters: `iter` (and any closure state it owns) is dropped first, while
    // the context is still attached; the guard goes last.
    iter: I,
    _guard: ContextGuard,
}

impl<I: Iterator> Iterator for ContextIter<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<Self::Item> {
        self.iter.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl<I: DoubleEndedIterator> DoubleEndedIterator for ContextIter<I> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.iter.next_back()
    }
}

impl<I: ExactSizeIterator> ExactSizeIterator for ContextIter<I> {
    fn len(&self) -> usize {
        self.iter.len()
    }
}
