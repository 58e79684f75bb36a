//! Splits a streamed HTTP body into lines, for NDJSON and SSE alike.

use bytes::{Buf, BytesMut};
use futures_util::{Stream, StreamExt};

/// Turns a byte stream into a stream of complete UTF-8 lines (without the line break). A last line without a
/// trailing newline is yielded at the end.
pub fn lines<S, E>(body: S) -> impl Stream<Item = Result<String, E>>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    futures_util::stream::unfold(
        (body, BytesMut::new(), false),
        |(mut body, mut buf, mut ended)| async move {
            loop {
                if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                    let line = buf.split_to(pos + 1);
                    let text = String::from_utf8_lossy(&line[..pos]).trim_end_matches('\r').to_string();
                    return Some((Ok(text), (body, buf, ended)));
                }
                if ended {
                    if buf.is_empty() {
                        return None;
                    }
                    let text = String::from_utf8_lossy(&buf).to_string();
                    buf.advance(buf.len());
                    return Some((Ok(text), (body, buf, ended)));
                }
                match body.next().await {
                    Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                    Some(Err(e)) => return Some((Err(e), (body, buf, true))),
                    None => ended = true,
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_across_chunk_boundaries() {
        let chunks: Vec<Result<bytes::Bytes, ()>> = vec![
            Ok("{\"a\":1}\n{\"b\"".into()),
            Ok(":2}\r\n\n".into()),
            Ok("tail".into()),
        ];
        let out: Vec<String> = lines(futures_util::stream::iter(chunks))
            .map(|l| l.unwrap())
            .collect()
            .await;
        assert_eq!(out, vec!["{\"a\":1}", "{\"b\":2}", "", "tail"]);
    }
}
