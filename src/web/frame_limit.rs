//! The WebSocket size limit, enforced on the raw bytes before anything is buffered: [`FrameLimit`] wraps the
//! request payload, follows the frame headers as they pass, and fails the stream as soon as a header declares a
//! frame, or a fragmented message adds up to, more than `server.max_frame_bytes`. The frame decoder behind it
//! (actix-ws) would otherwise buffer a whole declared frame before checking its size.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;

/// Where the parser is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Reading a frame header; this many of its bytes are in `header`.
    Header(usize),
    /// Skipping this many payload bytes.
    Payload(u64),
}

/// What the limit decided about the bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit.
    Ok,
    /// A frame or message is larger than the limit.
    TooLarge,
}

/// Follows WebSocket frame headers (client frames, RFC 6455 §5.2) through a byte stream and sums the sizes of
/// the frames of one message.
#[derive(Debug)]
pub struct FrameSizes {
    max: u64,
    position: Position,
    header: [u8; 14],
    /// Payload bytes of the data message being received (its first frame and continuations so far).
    message: u64,
}

/// The length of a frame header given its first two bytes.
fn header_len(b1: u8) -> usize {
    let extended = match b1 & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

impl FrameSizes {
    /// A parser at the start of a stream, refusing frames and messages above `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            max: max as u64,
            position: Position::Header(0),
            header: [0; 14],
            message: 0,
        }
    }

    /// Takes the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Verdict {
        while !bytes.is_empty() {
            match self.position {
                Position::Payload(left) => {
                    let n = left.min(bytes.len() as u64);
                    bytes = &bytes[n as usize..];
                    self.position = next_after_payload(left - n);
                }
                Position::Header(have) => {
                    let need = if have < 2 { 2 } else { header_len(self.header[1]) };
                    let n = (need - have).min(bytes.len());
                    self.header[have..have + n].copy_from_slice(&bytes[..n]);
                    bytes = &bytes[n..];
                    let have = have + n;
                    self.position = Position::Header(have);
                    let complete = have >= 2 && have == header_len(self.header[1]);
                    if complete && self.end_of_header() == Verdict::TooLarge {
                        return Verdict::TooLarge;
                    }
                }
            }
        }
        Verdict::Ok
    }

    /// A complete header is in `header`: checks the sizes and moves on to its payload.
    fn end_of_header(&mut self) -> Verdict {
        let h = &self.header;
        let fin = h[0] & 0x80 != 0;
        let opcode = h[0] & 0x0F;
        let len = match h[1] & 0x7F {
            126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
            127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
            n => u64::from(n),
        };
        if opcode < 8 {
            // Data frames: 0 continues a message, 1 (text) and 2 (binary) start one. Control frames (≥ 8) are at
            // most 125 bytes (the decoder checks) and may come between fragments.
            let so_far = if opcode == 0 { self.message } else { 0 };
            let total = so_far.saturating_add(len);
            if len > self.max || total > self.max {
                return Verdict::TooLarge;
            }
            self.message = if fin { 0 } else { total };
        }
        self.position = next_after_payload(len);
        Verdict::Ok
    }
}

fn next_after_payload(left: u64) -> Position {
    match left {
        0 => Position::Header(0),
        n => Position::Payload(n),
    }
}

/// A request payload that fails with [`PayloadError::Overflow`] as soon as [`FrameSizes`] says a frame is too
/// large, and then ends: the oversized payload is never read, let alone buffered.
pub struct FrameLimit<S> {
    inner: S,
    sizes: FrameSizes,
    failed: bool,
}

impl<S> FrameLimit<S> {
    /// Wraps `inner`, allowing frames and messages of up to `max` bytes.
    pub fn new(inner: S, max: usize) -> Self {
        Self {
            inner,
            sizes: FrameSizes::new(max),
            failed: false,
        }
    }
}

/// True when a WebSocket stream error came from [`FrameLimit`].
pub fn is_overflow(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<PayloadError>())
        .is_some_and(|e| matches!(e, PayloadError::Overflow))
}

impl<S> Stream for FrameLimit<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if self.sizes.feed(&bytes) == Verdict::TooLarge {
                    self.failed = true;
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header.
    fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut h = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=0xFFFF => {
                h.push(0x80 | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend_from_slice(&len.to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut f = header(fin, opcode, len as u64);
        f.extend(std::iter::repeat_n(b'x', len));
        f
    }

    #[test]
    fn frames_within_the_limit_pass_byte_by_byte() {
        let mut sizes = FrameSizes::new(1000);
        let stream: Vec<u8> = [
            frame(true, 1, 5),
            frame(true, 1, 300),
            frame(true, 9, 4),
            frame(true, 2, 1000),
        ]
        .concat();
        for b in &stream {
            assert_eq!(sizes.feed(std::slice::from_ref(b)), Verdict::Ok);
        }
        assert_eq!(sizes.position, Position::Header(0));
    }

    #[test]
    fn a_large_declared_length_is_refused_at_the_header() {
        let mut sizes = FrameSizes::new(1 << 20);
        assert_eq!(sizes.feed(&header(true, 1, 400 << 20)), Verdict::TooLarge);
        let mut sizes = FrameSizes::new(1000);
        let h = header(true, 1, 1001);
        assert_eq!(sizes.feed(&h[..3]), Verdict::Ok, "an incomplete header is not judged");
        assert_eq!(sizes.feed(&h[3..]), Verdict::TooLarge);
    }

    #[test]
    fn fragments_add_up_and_control_frames_do_not_count() {
        let mut sizes = FrameSizes::new(1000);
        let ok = [frame(false, 1, 600), frame(true, 9, 100), frame(true, 0, 400)].concat();
        assert_eq!(sizes.feed(&ok), Verdict::Ok);
        assert_eq!(
            sizes.feed(&frame(true, 1, 900)),
            Verdict::Ok,
            "a new message starts from zero"
        );
        let mut sizes = FrameSizes::new(1000);
        assert_eq!(sizes.feed(&frame(false, 1, 600)), Verdict::Ok);
        assert_eq!(sizes.feed(&header(false, 0, 300)), Verdict::Ok);
        assert_eq!(sizes.feed(&[b'x'; 300]), Verdict::Ok);
        assert_eq!(sizes.feed(&header(true, 0, 101)), Verdict::TooLarge);
    }
}
