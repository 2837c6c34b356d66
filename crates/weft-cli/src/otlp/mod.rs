//! OTLP on the wire: decoding requests (HTTP protobuf/JSON, gzip), refusing bad ones with a
//! reason, converting to store rows, and encoding stored rows back for export.

pub mod convert;
pub mod decode;
pub mod encode;
pub mod rejection;
