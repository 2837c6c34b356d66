//! Why `configure()` failed. Every message names the option or variable to change and
//! the values it accepts.

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigureError {
    /// `configure().finish()` was already called in this process.
    #[error(
        "weft is already configured in this process: call configure().finish() once, at start-up, \
         and keep the returned guard alive (for a second, independent instance use configure().local())"
    )]
    AlreadyConfigured,
    /// An environment variable or option has a value that is not accepted.
    #[error("invalid {name}={value:?}: expected {expected}")]
    InvalidValue {
        /// The variable or builder option.
        name: &'static str,
        /// What it was set to.
        value: String,
        /// What it accepts.
        expected: &'static str,
    },
    /// `distributed_tracing` could not be parsed.
    #[error(transparent)]
    DistributedTracing(#[from] weft_context::propagation::PolicyError),
    /// A feature that is not compiled in was asked for.
    #[error(
        "{what} needs the `{feature}` Cargo feature of weft: add features = [\"{feature}\"] to the weft dependency"
    )]
    FeatureRequired {
        /// The Cargo feature.
        feature: &'static str,
        /// What needs it.
        what: &'static str,
    },
    /// An exporter could not be built.
    #[error("cannot set up the exporter to {target}: {source}")]
    Exporter {
        /// Where it would send.
        target: String,
        /// Why not.
        source: crate::export::ExportError,
    },
    /// Another `tracing` subscriber is already the global default.
    #[error(
        "another tracing subscriber is already installed globally: call configure().install_tracing_subscriber(false) \
         and add weft::tracing_layer() to your own subscriber instead"
    )]
    TracingSubscriberTaken,
    /// The export thread could not be started.
    #[error("cannot start weft's export thread: {0}")]
    Thread(std::io::Error),
}
