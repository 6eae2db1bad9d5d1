//! HTTP/1.1 message framing shared by the client side (requests to a
//! backend) and the server side (requests from clients): how a body is
//! delimited, and a strict decoder for Content-Length and chunked bodies.

mod codec;

pub use codec::{
    last_coding_is_chunked, parse_content_length, Decoder, Framing, FramingError, Step,
};
