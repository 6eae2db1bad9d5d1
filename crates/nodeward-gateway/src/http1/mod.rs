//! HTTP/1.1 message framing shared by the client side (requests to a
//! backend) and the server side (requests from clients): how a body is
//! delimited, and a strict decoder for Content-Length and chunked bodies.

mod codec;
mod hop;

pub use codec::{
    last_coding_is_chunked, parse_content_length, Decoder, Framing, FramingError, Step,
};
pub use hop::is_hop_by_hop;
