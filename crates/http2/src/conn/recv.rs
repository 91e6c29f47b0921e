//! The frames a client sends, one function per type (RFC 9113 6): each checks the frame's
//! rules, moves the stream and flow-control state, and queues events and replies.

use bytes::Bytes;

use super::{Connection, Event, Pending, Stream, Target, stream, stream_mut, tables};
use crate::error::{ConnError, Reason};
use crate::frame::{self, Head, flag, setting};
use crate::request::{self, Block};

impl Connection {
    pub(super) fn data(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        if head.stream == 0 {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "DATA on stream 0"));
        }
        let len = i64::from(head.len);
        if len > self.recv_window {
            return Err(self.fail(Reason::FLOW_CONTROL_ERROR, "connection window exceeded"));
        }
        self.recv_window -= len;
        let body = if head.has(flag::PADDED) {
            match frame::unpad(payload) {
                Some(body) => body,
                None => return Err(self.fail(Reason::PROTOCOL_ERROR, "padding too long")),
            }
        } else {
            payload
        };
        let end = head.has(flag::END_STREAM);
        let id = head.stream;
        let Some(s) = stream_mut(&mut self.tables, id) else {
            if id > self.last_stream {
                return Err(self.fail(Reason::PROTOCOL_ERROR, "DATA on an idle stream"));
            }
            // Closed: its bytes are given back to the connection at once.
            self.give_back(payload.len());
            if !self.was_reset(id) {
                self.stream_error(id, Reason::STREAM_CLOSED)?;
            }
            return Ok(());
        };
        if !s.remote_open {
            self.give_back(payload.len());
            return self.stream_error(id, Reason::STREAM_CLOSED);
        }
        if len > s.recv_window {
            self.give_back(payload.len());
            return self.stream_error(id, Reason::FLOW_CONTROL_ERROR);
        }
        s.recv_window -= len;
        s.received += body.len() as u64;
        let malformed = match s.content_length {
            Some(n) => s.received > n || (end && s.received != n),
            None => false,
        };
        if malformed {
            self.give_back(payload.len());
            return self.stream_error(id, Reason::PROTOCOL_ERROR);
        }
        // Padding is consumed now; the body when the server says so.
        let padding = payload.len() - body.len();
        if padding > 0 {
            self.release(id, padding);
        }
        if end {
            self.close_remote(id);
        }
        if !body.is_empty() || end {
            self.push_event(Event::Data {
                stream: id,
                data: Bytes::copy_from_slice(body),
                end_stream: end,
            });
        }
        Ok(())
    }

    pub(super) fn headers(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        let id = head.stream;
        if id == 0 {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "HEADERS on stream 0"));
        }
        let mut block = payload;
        if head.has(flag::PADDED) {
            block = match frame::unpad(block) {
                Some(b) => b,
                None => return Err(self.fail(Reason::PROTOCOL_ERROR, "padding too long")),
            };
        }
        let mut target = Target::Open;
        if head.has(flag::PRIORITY) {
            let Some((priority, rest)) = block.split_first_chunk::<5>() else {
                return Err(self.fail(Reason::FRAME_SIZE_ERROR, "HEADERS too short"));
            };
            block = rest;
            let depends = u32::from_be_bytes([priority[0], priority[1], priority[2], priority[3]])
                & frame::MAX_WINDOW;
            if depends == id {
                target = Target::Discard(Some(Reason::PROTOCOL_ERROR));
            }
        }
        let end_stream = head.has(flag::END_STREAM);
        if let Some(s) = stream(&self.tables, id) {
            target = if !s.remote_open {
                Target::Discard(Some(Reason::STREAM_CLOSED))
            } else if !end_stream {
                // RFC 9113 8.1: trailers end the stream.
                Target::Discard(Some(Reason::PROTOCOL_ERROR))
            } else {
                Target::Trailers
            };
        } else if id.is_multiple_of(2) {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "even stream id from a client"));
        } else if id <= self.last_stream {
            if !self.was_reset(id) {
                return Err(self.fail(Reason::STREAM_CLOSED, "HEADERS on a closed stream"));
            }
            target = Target::Discard(None);
        } else {
            self.last_stream = id;
            if self.goaway_sent.is_some() || self.peer_goaway {
                // RFC 9113 6.8: streams past the GOAWAY's last id are not processed.
                target = Target::Discard(None);
            } else if self.open_streams() >= self.config.max_concurrent_streams as usize {
                target = Target::Discard(Some(Reason::REFUSED_STREAM));
            }
        }
        if head.has(flag::END_HEADERS) {
            return self.header_block(id, end_stream, target, block);
        }
        if block.len() > self.config.max_header_list_size as usize {
            return Err(self.fail(Reason::ENHANCE_YOUR_CALM, "header block too large"));
        }
        self.header_block = Some(Box::new(Pending {
            stream: id,
            end_stream,
            target,
            fragments: block.to_vec(),
        }));
        Ok(())
    }

    pub(super) fn continuation(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        let Some(mut pending) = self.header_block.take() else {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "CONTINUATION without HEADERS"));
        };
        // A header block is bounded by the header list it can make (a field costs at least
        // as much in the list as on the wire): past it, a flood of CONTINUATION frames.
        if pending.fragments.len() + payload.len() > self.config.max_header_list_size as usize {
            return Err(self.fail(Reason::ENHANCE_YOUR_CALM, "header block too large"));
        }
        pending.fragments.extend_from_slice(payload);
        if !head.has(flag::END_HEADERS) {
            self.header_block = Some(pending);
            return Ok(());
        }
        let Pending {
            stream,
            end_stream,
            target,
            fragments,
        } = *pending;
        self.header_block(stream, end_stream, target, &fragments)
    }

    /// A complete header block.
    pub(super) fn header_block(
        &mut self,
        id: u32,
        end_stream: bool,
        target: Target,
        block: &[u8],
    ) -> Result<(), ConnError> {
        let limit = self.config.max_header_list_size as usize;
        let mut b = Block::new(
            limit,
            target == Target::Trailers,
            self.config.enable_connect_protocol,
        );
        if self.decoder.decode(block, |n, v| b.field(n, v)).is_err() {
            return Err(self.fail(Reason::COMPRESSION_ERROR, "header block does not decode"));
        }
        match target {
            Target::Discard(reason) => {
                if let Some(reason) = reason {
                    if stream(&self.tables, id).is_some() {
                        self.stream_error(id, reason)?;
                    } else {
                        self.send_reset(id, reason);
                    }
                }
                Ok(())
            }
            Target::Trailers => {
                if b.finish_trailers().is_err() {
                    return self.stream_error(id, Reason::PROTOCOL_ERROR);
                }
                // The body ends; its trailers go nowhere (as before: nothing reads them).
                let malformed = stream(&self.tables, id)
                    .is_some_and(|s| s.content_length.is_some_and(|n| n != s.received));
                if malformed {
                    return self.stream_error(id, Reason::PROTOCOL_ERROR);
                }
                self.close_remote(id);
                self.push_event(Event::Data {
                    stream: id,
                    data: Bytes::new(),
                    end_stream: true,
                });
                Ok(())
            }
            Target::Open => self.open(id, end_stream, b),
        }
    }

    /// A new stream whose request head decoded.
    pub(super) fn open(
        &mut self,
        id: u32,
        end_stream: bool,
        block: Block,
    ) -> Result<(), ConnError> {
        let head = match block.finish_request() {
            Ok(head) => head,
            Err(request::Refusal::TooLarge) => {
                // RFC 9113 8.2.3 / RFC 6585: answered, not reset.
                let mut block = Vec::new();
                self.encoder.begin(&mut block);
                self.encoder.status(431, &mut block);
                frame::headers(
                    &mut self.out,
                    id,
                    &block,
                    true,
                    self.peer_max_frame as usize,
                );
                if !end_stream {
                    self.send_reset(id, Reason::NO_ERROR);
                }
                return Ok(());
            }
            Err(request::Refusal::Malformed) => {
                self.count_local_reset()?;
                self.send_reset(id, Reason::PROTOCOL_ERROR);
                return Ok(());
            }
        };
        if end_stream && head.content_length.is_some_and(|n| n > 0) {
            self.count_local_reset()?;
            self.send_reset(id, Reason::PROTOCOL_ERROR);
            return Ok(());
        }
        tables(&mut self.tables).streams.insert(
            id,
            Stream {
                remote_open: !end_stream,
                local_open: true,
                send_window: i64::from(self.peer_initial_window),
                recv_window: i64::from(self.config.stream_window),
                released: 0,
                content_length: head.content_length,
                received: 0,
            },
        );
        self.push_event(Event::Request {
            stream: id,
            head: Box::new(head),
            end_stream,
        });
        Ok(())
    }

    pub(super) fn priority(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        if head.stream == 0 {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "PRIORITY on stream 0"));
        }
        let Ok(p) = <&[u8; 5]>::try_from(payload) else {
            return self.stream_error(head.stream, Reason::FRAME_SIZE_ERROR);
        };
        let depends = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & frame::MAX_WINDOW;
        if depends == head.stream {
            return self.stream_error(head.stream, Reason::PROTOCOL_ERROR);
        }
        Ok(())
    }

    pub(super) fn rst_stream(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        if head.stream == 0 {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "RST_STREAM on stream 0"));
        }
        let Ok(code) = <[u8; 4]>::try_from(payload) else {
            return Err(self.fail(Reason::FRAME_SIZE_ERROR, "RST_STREAM not 4 bytes"));
        };
        let id = head.stream;
        if !self.remove_stream(id) {
            if id > self.last_stream {
                return Err(self.fail(Reason::PROTOCOL_ERROR, "RST_STREAM on an idle stream"));
            }
            return Ok(());
        }
        let reason = Reason(u32::from_be_bytes(code));
        // Reset before the server took the stream in (its request still queued): the cheap
        // half of a rapid reset attack.
        let unseen = self.tables.as_ref().is_some_and(|t| {
            t.events
                .iter()
                .any(|e| matches!(e, Event::Request { stream, .. } if *stream == id))
        });
        if unseen {
            self.pending_resets += 1;
            if self.pending_resets > self.config.max_pending_resets {
                return Err(self.fail(Reason::ENHANCE_YOUR_CALM, "too many streams reset at once"));
            }
        }
        self.push_event(Event::Reset {
            stream: id,
            reason,
            remote: true,
        });
        Ok(())
    }

    pub(super) fn settings(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        if head.stream != 0 {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "SETTINGS on a stream"));
        }
        if head.has(flag::ACK) {
            if !payload.is_empty() {
                return Err(self.fail(Reason::FRAME_SIZE_ERROR, "SETTINGS ACK with a payload"));
            }
            return Ok(());
        }
        if !payload.len().is_multiple_of(6) {
            return Err(self.fail(Reason::FRAME_SIZE_ERROR, "SETTINGS not a multiple of 6"));
        }
        for s in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([s[0], s[1]]);
            let value = u32::from_be_bytes([s[2], s[3], s[4], s[5]]);
            match id {
                setting::ENABLE_PUSH if value > 1 => {
                    return Err(self.fail(Reason::PROTOCOL_ERROR, "ENABLE_PUSH not 0 or 1"));
                }
                setting::INITIAL_WINDOW_SIZE => {
                    if value > frame::MAX_WINDOW {
                        return Err(self.fail(Reason::FLOW_CONTROL_ERROR, "window too large"));
                    }
                    let delta = i64::from(value) - i64::from(self.peer_initial_window);
                    self.peer_initial_window = value;
                    let mut overflow = false;
                    if let Some(t) = self.tables.as_mut() {
                        for s in t.streams.values_mut() {
                            s.send_window += delta;
                            overflow |= s.send_window > i64::from(frame::MAX_WINDOW);
                        }
                    }
                    if overflow {
                        return Err(self.fail(Reason::FLOW_CONTROL_ERROR, "window overflow"));
                    }
                    if delta > 0 {
                        self.push_event(Event::WindowOpened);
                    }
                }
                setting::MAX_FRAME_SIZE => {
                    if !(frame::DEFAULT_MAX_FRAME_SIZE..=frame::MAX_MAX_FRAME_SIZE).contains(&value)
                    {
                        return Err(
                            self.fail(Reason::PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range")
                        );
                    }
                    self.peer_max_frame = value;
                }
                setting::HEADER_TABLE_SIZE => self.encoder.set_peer_max(value as usize),
                _ => {}
            }
        }
        frame::settings_ack(&mut self.out);
        Ok(())
    }

    pub(super) fn ping(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        if head.stream != 0 {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "PING on a stream"));
        }
        let Ok(data) = <&[u8; 8]>::try_from(payload) else {
            return Err(self.fail(Reason::FRAME_SIZE_ERROR, "PING not 8 bytes"));
        };
        if !head.has(flag::ACK) {
            frame::ping_ack(&mut self.out, data);
        }
        Ok(())
    }

    pub(super) fn goaway(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        if head.stream != 0 {
            return Err(self.fail(Reason::PROTOCOL_ERROR, "GOAWAY on a stream"));
        }
        if payload.len() < 8 {
            return Err(self.fail(Reason::FRAME_SIZE_ERROR, "GOAWAY too short"));
        }
        // The client opens no more streams; those in flight finish.
        self.peer_goaway = true;
        Ok(())
    }

    pub(super) fn window_update(&mut self, head: Head, payload: &[u8]) -> Result<(), ConnError> {
        let Ok(b) = <[u8; 4]>::try_from(payload) else {
            return Err(self.fail(Reason::FRAME_SIZE_ERROR, "WINDOW_UPDATE not 4 bytes"));
        };
        let increment = i64::from(u32::from_be_bytes(b) & frame::MAX_WINDOW);
        let id = head.stream;
        if id == 0 {
            if increment == 0 {
                return Err(self.fail(Reason::PROTOCOL_ERROR, "WINDOW_UPDATE of 0"));
            }
            self.send_window += increment;
            if self.send_window > i64::from(frame::MAX_WINDOW) {
                return Err(self.fail(Reason::FLOW_CONTROL_ERROR, "connection window overflow"));
            }
            self.push_event(Event::WindowOpened);
            return Ok(());
        }
        let Some(s) = stream_mut(&mut self.tables, id) else {
            if id > self.last_stream {
                return Err(self.fail(Reason::PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream"));
            }
            return Ok(());
        };
        if increment == 0 {
            return self.stream_error(id, Reason::PROTOCOL_ERROR);
        }
        s.send_window += increment;
        if s.send_window > i64::from(frame::MAX_WINDOW) {
            return self.stream_error(id, Reason::FLOW_CONTROL_ERROR);
        }
        self.push_event(Event::WindowOpened);
        Ok(())
    }
}
