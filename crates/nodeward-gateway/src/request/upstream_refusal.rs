//! The one place where a failure to get an answer from a pool becomes the
//! client's refusal: no backend able to serve (503), a block no node has
//! yet (503), no answer in time (504), a broken answer (502).

use crate::refusal::{Reason, Reject};
use crate::upstream::{Failure, UpstreamError};
use nodeward_balance::Unavailable;

/// The refusal for a forwarding failure.
pub fn refusal(failure: &Failure) -> Reject {
    match failure {
        Failure::NoBackend(why) => Reject::new(
            Reason::NoHealthyBackend,
            match why {
                Unavailable::Empty => "the node pool has no backends",
                Unavailable::NoneServing => "no node backend is healthy",
                Unavailable::NoneAccepted | Unavailable::AllTried => {
                    "no node backend could be reached"
                }
            },
        ),
        Failure::BlockUnavailable { wanted, highest } => Reject::new(
            Reason::BlockUnavailable,
            match highest {
                Some(h) => {
                    format!("block {wanted} is not yet available on any node (highest: {h})")
                }
                None => format!("block {wanted} is not yet available on any node"),
            },
        ),
        Failure::Upstream(e) => match e {
            UpstreamError::Timeout => {
                Reject::new(Reason::UpstreamTimeout, "the node did not answer in time")
            }
            UpstreamError::TimeoutBeforeSend => Reject::new(
                Reason::UpstreamTimeout,
                "no connection to a node became free in time",
            ),
            UpstreamError::Unreachable(_) | UpstreamError::Tls(_) => {
                Reject::new(Reason::NoHealthyBackend, "no node backend could be reached")
            }
            UpstreamError::ClosedEarly | UpstreamError::Io(_) | UpstreamError::Invalid(_) => {
                Reject::new(Reason::UpstreamError, "the node sent an invalid response")
            }
        },
    }
}
