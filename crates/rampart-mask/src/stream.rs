//! Masking a stream written in arbitrary chunks.

use std::sync::Arc;

use crate::matcher::{Found, Matcher};
use crate::set::SecretSet;
use crate::tokens::{ANCHORS, Scanner};

/// Masks one output stream (a step's stdout, say).
///
/// [`write`](StreamMasker::write) appends to `out` every byte that can be
/// released now; [`finish`](StreamMasker::finish) releases the rest at the
/// end of the stream. The output is byte-identical to
/// [`SecretSet::mask_bytes`] of everything written, however the stream was
/// split. Secrets added to the set after the masker was created apply to
/// every byte not released yet.
pub struct StreamMasker {
    set: Arc<SecretSet>,
    core: Core,
}

impl std::fmt::Debug for StreamMasker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamMasker")
            .field("held", &self.core.held.len())
            .finish()
    }
}

impl StreamMasker {
    pub(crate) fn new(set: Arc<SecretSet>) -> StreamMasker {
        let (generation, matcher) = set.matcher();
        let core = Core::new(generation, matcher, set.config().mask.as_bytes());
        StreamMasker { set, core }
    }

    /// Takes the next `chunk` of the stream and appends what can be released.
    pub fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.refresh();
        self.core.write(chunk, out);
    }

    /// Ends the stream: appends everything still held back. The masker can
    /// then start a new stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.refresh();
        self.core.finish(out);
    }

    /// Bytes written but not released yet (they may still be part of a match).
    pub fn held(&self) -> usize {
        self.core.held.len()
    }

    fn refresh(&mut self) {
        if self.set.generation() != self.core.generation {
            let (generation, matcher) = self.set.matcher();
            self.core.generation = generation;
            self.core.matcher = matcher;
        }
    }
}

/// The masking state machine, independent of where the matcher comes from.
pub(crate) struct Core {
    pub(crate) generation: u64,
    pub(crate) matcher: Arc<Matcher>,
    mask: Box<[u8]>,
    /// Bytes not released yet; they start at stream position `released`.
    held: Vec<u8>,
    released: u64,
    /// Bytes written so far.
    end: u64,
    /// Whether the last released byte was masked (a masked run continuing
    /// into the next write gets no second mask).
    in_mask: bool,
    /// Masked ranges that reach past `released`, in no particular order.
    cover: Vec<(u64, u64)>,
    scanners: Vec<Scanner>,
    /// Token prefixes ending at or before this position have their scanner.
    anchors_done: u64,
    found: Found,
    junction: Vec<u8>,
}

impl Core {
    pub(crate) fn new(generation: u64, matcher: Arc<Matcher>, mask: &[u8]) -> Core {
        Core {
            generation,
            matcher,
            mask: mask.into(),
            held: Vec::new(),
            released: 0,
            end: 0,
            in_mask: false,
            cover: Vec::new(),
            scanners: Vec::new(),
            anchors_done: 0,
            found: Found::default(),
            junction: Vec::new(),
        }
    }

    pub(crate) fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if chunk.is_empty() {
            return;
        }
        let base = self.end;
        let new_end = base + chunk.len() as u64;
        for scanner in &mut self.scanners {
            scanner.feed(chunk, &mut self.cover);
        }
        let matcher = Arc::clone(&self.matcher);
        let partial;
        if self.held.is_empty() {
            self.found.clear();
            matcher.scan(chunk, chunk.len(), true, &mut self.found);
            partial = self.absorb(base, chunk, base, new_end);
        } else {
            // Matches that start in the held-back bytes are found in a copy of
            // them followed by the start of the chunk ("the junction"); the
            // rest of the chunk is scanned where it lies.
            let reach = matcher.reach();
            let whole = chunk.len() <= reach;
            let head = if whole { chunk.len() } else { reach };
            let mut junction = std::mem::take(&mut self.junction);
            junction.clear();
            junction.extend_from_slice(&self.held);
            junction.extend_from_slice(&chunk[..head]);
            self.found.clear();
            let limit = if whole {
                junction.len()
            } else {
                self.held.len()
            };
            matcher.scan(&junction, limit, whole, &mut self.found);
            let p = self.absorb(self.released, chunk, base, new_end);
            self.junction = junction;
            if whole {
                partial = p;
            } else {
                self.found.clear();
                matcher.scan(chunk, chunk.len(), true, &mut self.found);
                partial = self.absorb(base, chunk, base, new_end);
            }
        }
        self.anchors_done = new_end;

        let mut frontier = partial.unwrap_or(new_end);
        for scanner in &self.scanners {
            if let Some(p) = scanner.pending() {
                frontier = frontier.min(p);
            }
        }
        self.scanners.retain(|s| !s.is_done());
        let frontier = frontier.max(self.released);
        self.release(frontier, chunk, base, out);
        // Keep the bytes from the frontier on.
        if frontier >= base {
            self.held.clear();
            self.held
                .extend_from_slice(&chunk[(frontier - base) as usize..]);
        } else {
            self.held.drain(..(frontier - self.released) as usize);
            self.held.extend_from_slice(chunk);
        }
        self.released = frontier;
        self.end = new_end;
    }

    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.held.is_empty() {
            // Forms added since the last write apply to the held bytes too.
            let held = std::mem::take(&mut self.held);
            self.found.clear();
            self.matcher.scan(&held, held.len(), false, &mut self.found);
            let origin = self.released;
            for &(s, e) in &self.found.lits {
                self.cover.push((origin + s as u64, origin + e as u64));
            }
            self.held = held;
        }
        for scanner in &mut self.scanners {
            scanner.finish();
        }
        self.scanners.clear();
        self.release(self.end, &[], self.end, out);
        self.held.clear();
        self.released = self.end;
        self.cover.clear();
        self.in_mask = false;
        self.anchors_done = self.end;
    }

    /// Takes the matches in `self.found` (offsets from stream position
    /// `origin`): records masked ranges, starts scanners for new token
    /// prefixes and feeds them up to `new_end`. Returns the stream position of
    /// the partial match, if any.
    fn absorb(&mut self, origin: u64, chunk: &[u8], base: u64, new_end: u64) -> Option<u64> {
        for &(s, e) in &self.found.lits {
            self.cover.push((origin + s as u64, origin + e as u64));
        }
        for &(s, index) in &self.found.anchors {
            let anchor = &ANCHORS[index];
            let start = origin + s as u64;
            if start + anchor.prefix.len() as u64 <= self.anchors_done {
                continue; // found by an earlier write
            }
            if self
                .scanners
                .iter()
                .any(|sc| sc.extends_over(anchor.kind, start))
            {
                continue;
            }
            let mut scanner = Scanner::new(anchor, start);
            let next = scanner.next();
            if next < base {
                let from = (next - self.released) as usize;
                scanner.feed(&self.held[from..], &mut self.cover);
                scanner.feed(chunk, &mut self.cover);
            } else if next < new_end {
                scanner.feed(&chunk[(next - base) as usize..], &mut self.cover);
            }
            if !scanner.is_done() {
                self.scanners.push(scanner);
            }
        }
        self.found.partial.map(|p| origin + p as u64)
    }

    /// Appends the stream bytes `released..frontier` to `out`, each maximal
    /// run of masked bytes replaced by one mask.
    fn release(&mut self, frontier: u64, chunk: &[u8], base: u64, out: &mut Vec<u8>) {
        let mut pos = self.released;
        if !self.cover.is_empty() {
            self.cover.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.cover.len());
            for &(s, e) in &self.cover {
                match merged.last_mut() {
                    // Overlapping or adjacent ranges form one masked run.
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            for &(s, e) in &merged {
                if s >= frontier {
                    break;
                }
                if e <= pos {
                    continue;
                }
                if s > pos {
                    self.raw(pos, s, chunk, base, out);
                    self.in_mask = false;
                }
                if !self.in_mask {
                    out.extend_from_slice(&self.mask);
                    self.in_mask = true;
                }
                pos = e.min(frontier);
            }
            merged.retain(|&(_, e)| e > frontier);
            self.cover = merged;
        }
        if frontier > pos {
            self.raw(pos, frontier, chunk, base, out);
            self.in_mask = false;
        }
    }

    /// Appends the stream bytes `from..to` as they are.
    fn raw(&self, from: u64, to: u64, chunk: &[u8], base: u64, out: &mut Vec<u8>) {
        if from < base {
            let held_end = to.min(base);
            out.extend_from_slice(
                &self.held[(from - self.released) as usize..(held_end - self.released) as usize],
            );
        }
        if to > base {
            let start = from.max(base);
            out.extend_from_slice(&chunk[(start - base) as usize..(to - base) as usize]);
        }
    }
}
