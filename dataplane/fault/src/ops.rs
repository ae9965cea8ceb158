//! What the injector must do to a frame that depends on its kind (received or
//! being transmitted).

use ix_nic::{BufPool, NoBuffers, RxBuf, TxFrame};

/// Duplicating and corrupting one kind of frame `T`.
pub(crate) trait FrameOps<T> {
    /// A second frame with the same bytes.
    fn dup(&self, frame: &T) -> Result<T, NoBuffers>;

    /// The bytes the corrupt fault may write.
    fn writable<'f>(&self, frame: &'f mut T) -> &'f mut [u8];
}

/// Received frames of pool `P`: copied with `dup_rx`, all bytes writable (the
/// receiver owns them).
pub(crate) struct RxOps<'p, P>(pub(crate) &'p P);

impl<P: BufPool> FrameOps<P::Rx> for RxOps<'_, P> {
    fn dup(&self, frame: &P::Rx) -> Result<P::Rx, NoBuffers> {
        self.0.dup_rx(frame)
    }

    fn writable<'f>(&self, frame: &'f mut P::Rx) -> &'f mut [u8] {
        frame.data_mut()
    }
}

/// Frames of pool `P` being transmitted: duplicated with `dup_frame` (payload
/// referenced again, not copied); only the linear part is writable, because attached
/// payload is shared with the application and with other transmissions.
pub(crate) struct TxOps<'p, P>(pub(crate) &'p P);

impl<P: BufPool> FrameOps<P::Frame> for TxOps<'_, P> {
    fn dup(&self, frame: &P::Frame) -> Result<P::Frame, NoBuffers> {
        self.0.dup_frame(frame)
    }

    fn writable<'f>(&self, frame: &'f mut P::Frame) -> &'f mut [u8] {
        frame.linear_mut()
    }
}
