//! Splits a streamed HTTP body into lines, for NDJSON and SSE alike, with a bound on a line's length.

use bytes::BytesMut;
use futures_util::{Stream, StreamExt};

/// The longest line accepted from a model server. A streamed line holds one token's JSON (a few hundred bytes);
/// even a whole reply in one line (a server that ignores `stream: true`) stays far below 1 MiB at any token
/// budget the server allows. Past it the server is broken or hostile, and buffering on would let it use memory
/// without bound.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Why the line reader stopped.
#[derive(Debug)]
pub enum LineError<E> {
    /// The body stream failed.
    Body(E),
    /// A line grew past the limit (in bytes) without a line break.
    TooLong(usize),
}

/// What the reader keeps between lines: the body, the bytes not yet split off, how far they were searched for a
/// line break (so each byte is looked at once) and whether the body (or the reader) ended.
struct Reader<S> {
    body: S,
    buf: BytesMut,
    scanned: usize,
    ended: bool,
    limit: usize,
}

/// Turns a byte stream into a stream of complete UTF-8 lines (without the line break). A last line without a
/// trailing newline is yielded at the end. A line longer than [`MAX_LINE_BYTES`] ends the stream with
/// [`LineError::TooLong`]; a body error ends it with [`LineError::Body`].
pub fn lines<S, E>(body: S) -> impl Stream<Item = Result<String, LineError<E>>>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    lines_with_limit(body, MAX_LINE_BYTES)
}

/// [`lines`] with a given line limit.
fn lines_with_limit<S, E>(body: S, limit: usize) -> impl Stream<Item = Result<String, LineError<E>>>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    let reader = Reader {
        body,
        buf: BytesMut::new(),
        scanned: 0,
        ended: false,
        limit,
    };
    futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            if let Some(offset) = r.buf[r.scanned..].iter().position(|b| *b == b'\n') {
                let pos = r.scanned + offset;
                r.scanned = 0;
                if pos > r.limit {
                    r.ended = true;
                    r.buf.clear();
                    return Some((Err(LineError::TooLong(r.limit)), r));
                }
                let line = r.buf.split_to(pos + 1);
                let text = String::from_utf8_lossy(&line[..pos]).trim_end_matches('\r').to_string();
                return Some((Ok(text), r));
            }
            r.scanned = r.buf.len();
            if r.buf.len() > r.limit {
                r.ended = true;
                r.buf.clear();
                r.scanned = 0;
                return Some((Err(LineError::TooLong(r.limit)), r));
            }
            if r.ended {
                if r.buf.is_empty() {
                    return None;
                }
                let text = String::from_utf8_lossy(&r.buf).to_string();
                r.buf.clear();
                r.scanned = 0;
                return Some((Ok(text), r));
            }
            match r.body.next().await {
                Some(Ok(chunk)) => r.buf.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    r.ended = true;
                    r.buf.clear();
                    r.scanned = 0;
                    return Some((Err(LineError::Body(e)), r));
                }
                None => r.ended = true,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(chunks: Vec<&'static str>, limit: usize) -> Vec<Result<String, String>> {
        let chunks: Vec<Result<bytes::Bytes, ()>> = chunks.into_iter().map(|c| Ok(c.into())).collect();
        lines_with_limit(futures_util::stream::iter(chunks), limit)
            .map(|l| {
                l.map_err(|e| match e {
                    LineError::TooLong(n) => format!("too long: {n}"),
                    LineError::Body(()) => "body".to_string(),
                })
            })
            .collect()
            .await
    }

    #[tokio::test]
    async fn splits_across_chunk_boundaries() {
        let out = collect(vec!["{\"a\":1}\n{\"b\"", ":2}\r\n\n", "tail"], 64).await;
        let out: Vec<String> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(out, vec!["{\"a\":1}", "{\"b\":2}", "", "tail"]);
    }

    #[tokio::test]
    async fn a_line_past_the_limit_ends_the_stream() {
        // 8 bytes allowed: "12345678" passes, the next line grows to 9 bytes without a break and fails,
        // and nothing after the failure is read.
        let out = collect(vec!["12345678\n1234", "56789", "\nlater\n"], 8).await;
        assert_eq!(out, vec![Ok("12345678".to_string()), Err("too long: 8".to_string())]);
        // A too-long line that arrives whole with its break fails the same way.
        let out = collect(vec!["123456789\nok\n"], 8).await;
        assert_eq!(out, vec![Err("too long: 8".to_string())]);
    }

    #[tokio::test]
    async fn many_small_chunks_of_one_line_are_read_in_linear_time() {
        // 200k one-byte chunks: with a rescan per chunk this would be 2·10^10 byte visits.
        let n = 200_000;
        let mut chunks: Vec<Result<bytes::Bytes, ()>> = (0..n).map(|_| Ok(bytes::Bytes::from_static(b"x"))).collect();
        chunks.push(Ok(bytes::Bytes::from_static(b"\n")));
        let started = std::time::Instant::now();
        let out: Vec<_> = lines_with_limit(futures_util::stream::iter(chunks), MAX_LINE_BYTES)
            .collect()
            .await;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().map(String::len).ok(), Some(n));
        assert!(started.elapsed().as_secs() < 2, "took {:?}", started.elapsed());
    }
}
