//! An append-only log of records that survives the process being killed, for the cost of a
//! memory copy per record.
//!
//! Records are copied into a memory-mapped, preallocated segment file. Once the copy is done
//! the bytes belong to the operating system's page cache: a `SIGKILL`, a panic or an
//! out-of-memory kill a moment later loses nothing (a crash of the machine itself can, until
//! [`Journal::sync`]). Writing a record is therefore cheap enough to do before answering every
//! request, where a `write(2)` per record would cost a system call each.
//!
//! On disk a record is its length (4 bytes, little-endian) and its bytes. The length is stored
//! after the bytes are copied, so a record torn by a kill mid-copy reads as the end of the
//! segment; the unused, zeroed rest of a segment reads the same way.
//!
//! Each appended record returns a [`Ticket`]. Whoever made the record durable elsewhere (a
//! database, say) settles the ticket; a segment file is deleted once it is no longer being
//! written and every record in it is settled. A ticket dropped unsettled keeps its segment on
//! disk, so the next process finds it among the [`Leftovers`] and can recover its records.
//!
//! One process owns a journal directory at a time (an exclusive lock on a file in it), so the
//! segments another process left are always finished.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::MmapMut;

const SEGMENT_SUFFIX: &str = ".log";

/// The size of a record's length prefix.
const LEN_BYTES: usize = 4;

/// An open journal directory.
pub struct Journal {
    dir: PathBuf,
    segment_bytes: usize,
    active: Mutex<Option<Active>>,
    /// Held for the journal's life: the directory's lock.
    _lock: File,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The segment being written.
struct Active {
    segment: Arc<Segment>,
    map: MmapMut,
    len: usize,
}

/// One segment file, shared by the tickets of its records.
struct Segment {
    path: PathBuf,
    seq: u64,
    file: File,
    /// Unsettled records, plus one while the segment is being written.
    holds: AtomicUsize,
}

impl Segment {
    fn release(&self) {
        if self.holds.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Every record is durable elsewhere: the file has done its job.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A record's claim on its segment: settle it once the record is durable elsewhere.
#[must_use = "an unsettled ticket keeps its segment on disk until the next start recovers it"]
pub struct Ticket(Arc<Segment>);

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Ticket").field(&self.0.seq).finish()
    }
}

impl Ticket {
    /// The record is durable elsewhere; its segment may go once all its records are.
    pub fn settle(self) {
        self.0.release();
    }
}

/// Segments an earlier process left behind, oldest first.
#[derive(Debug, Default)]
pub struct Leftovers {
    pub segments: Vec<PathBuf>,
}

/// Why the journal could not be used.
#[derive(Debug)]
pub enum Error {
    /// Another live process holds the directory.
    Locked(PathBuf),
    Io(io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Locked(dir) => write!(
                f,
                "another process is using the journal in `{}`",
                dir.display()
            ),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

fn segment_seq(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_suffix(SEGMENT_SUFFIX)?
        .parse()
        .ok()
}

impl Journal {
    /// Opens (creating) the journal in `dir`, writing segments of `segment_bytes` (a record longer
    /// than that gets a segment of its own size), and lists what earlier processes left.
    ///
    /// # Errors
    /// `Locked` when another live process uses `dir`; I/O errors.
    pub fn open(dir: &Path, segment_bytes: usize) -> Result<(Journal, Leftovers), Error> {
        std::fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let mut segments: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter_map(|path| segment_seq(&path).map(|seq| (seq, path)))
            .collect();
        segments.sort();
        let journal = Journal {
            dir: dir.to_owned(),
            segment_bytes: segment_bytes.max(4096),
            active: Mutex::new(None),
            _lock: lock,
        };
        let leftovers = Leftovers {
            segments: segments.into_iter().map(|(_, path)| path).collect(),
        };
        Ok((journal, leftovers))
    }

    fn active(&self) -> MutexGuard<'_, Option<Active>> {
        // A panic while holding the lock leaves at worst a torn last record, which readers skip.
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends one record (not empty, under 4 GiB) and answers its ticket. When this returns,
    /// a kill of the process no longer loses the record.
    ///
    /// # Errors
    /// An empty or oversized record; a new segment that cannot be created (a full disk, say).
    /// The record is then not kept.
    pub fn append(&self, record: &[u8]) -> io::Result<Ticket> {
        let len = u32::try_from(record.len())
            .ok()
            .filter(|it| *it > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "record size"))?;
        let needed = record.len() + LEN_BYTES;
        let mut active = self.active();
        let fits = active
            .as_ref()
            .is_some_and(|it| it.len + needed <= it.map.len());
        if !fits {
            let next_seq = active
                .as_ref()
                .map_or_else(|| self.first_seq(), |it| Ok(it.segment.seq + 1))?;
            let fresh = self.create_segment(next_seq, needed.max(self.segment_bytes))?;
            if let Some(old) = active.replace(fresh) {
                old.segment.release();
            }
        }
        let Some(active) = active.as_mut() else {
            return Err(io::Error::other("no active segment"));
        };
        let start = active.len;
        active.map[start + LEN_BYTES..start + needed].copy_from_slice(record);
        // The length last: until it is there, readers see the end of the segment.
        active.map[start..start + LEN_BYTES].copy_from_slice(&len.to_le_bytes());
        active.len += needed;
        active.segment.holds.fetch_add(1, Ordering::AcqRel);
        Ok(Ticket(active.segment.clone()))
    }

    /// The first sequence number of this process: after every segment on disk.
    fn first_seq(&self) -> io::Result<u64> {
        let highest = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter_map(|entry| segment_seq(&entry.path()))
            .max();
        Ok(highest.map_or(1, |it| it + 1))
    }

    fn create_segment(&self, seq: u64, bytes: usize) -> io::Result<Active> {
        let path = self.dir.join(format!("{seq:020}{SEGMENT_SUFFIX}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        let len = libc::off_t::try_from(bytes).map_err(io::Error::other)?;
        // Reserve the blocks now: a write to a hole of a mapped file on a full disk would kill
        // the process with SIGBUS; a failed reservation is an ordinary error here instead.
        #[expect(
            unsafe_code,
            reason = "posix_fallocate on a file descriptor this function owns; no memory is passed"
        )]
        // SAFETY: `file` is open for writing for the whole call.
        let reserved =
            unsafe { libc::posix_fallocate(std::os::fd::AsRawFd::as_raw_fd(&file), 0, len) };
        match reserved {
            0 => {}
            libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL => {
                file.set_len(u64::try_from(bytes).map_err(io::Error::other)?)?;
            }
            errno => {
                let _ = std::fs::remove_file(&path);
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        #[expect(
            unsafe_code,
            reason = "mapping a file is unsafe only if another process truncates or rewrites it"
        )]
        // SAFETY: the file was created by this process (`create_new`) in a directory it holds
        // locked, and is only read by other processes after this one has ended.
        let map = unsafe { MmapMut::map_mut(&file) };
        let map = match map {
            Ok(map) => map,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        Ok(Active {
            segment: Arc::new(Segment {
                path,
                seq,
                file,
                holds: AtomicUsize::new(1),
            }),
            map,
            len: 0,
        })
    }

    /// Flushes what was appended to the disk itself (`msync` and `fsync`), so that even a crash
    /// of the machine loses nothing written so far.
    ///
    /// # Errors
    /// I/O errors.
    pub fn sync(&self) -> io::Result<()> {
        let active = self.active();
        if let Some(active) = active.as_ref().filter(|it| it.len > 0) {
            active.map.flush_range(0, active.len)?;
            active.segment.file.sync_data()?;
        }
        Ok(())
    }
}

impl Journal {
    /// Stops writing the current segment, which goes once its records are settled: what a clean
    /// shutdown calls last, so that it leaves nothing to recover. Later appends start a new one.
    pub fn close(&self) {
        if let Some(active) = self.active().take() {
            drop(active.map);
            active.segment.release();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

/// The complete records of a segment, in order: the unused, zeroed tail and a record torn by a
/// kill in the middle of its copy are left out.
///
/// # Errors
/// When the file cannot be read.
pub fn read_records(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path)?;
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(prefix) = bytes.get(at..at + LEN_BYTES) {
        let mut len = [0u8; LEN_BYTES];
        len.copy_from_slice(prefix);
        let len = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
        let Some(record) = bytes.get(at + LEN_BYTES..(at + LEN_BYTES).saturating_add(len)) else {
            break;
        };
        if len == 0 {
            break;
        }
        records.push(record.to_vec());
        at += LEN_BYTES + len;
    }
    Ok(records)
}

/// Deletes a leftover segment whose records were recovered.
///
/// # Errors
/// I/O errors other than the file being gone already.
pub fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("journal-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn segments(dir: &Path) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|it| it.unwrap().path())
            .filter(|it| segment_seq(it).is_some())
            .collect();
        all.sort();
        all
    }

    #[test]
    fn records_left_unsettled_are_found_by_the_next_process() {
        let dir = scratch();
        let (journal, leftovers) = Journal::open(&dir, 4096).unwrap();
        assert!(leftovers.segments.is_empty());
        let kept: Vec<Ticket> = (0..3)
            .map(|i| journal.append(format!("{{\"n\":{i}}}").as_bytes()).unwrap())
            .collect();
        // What a killed process leaves: nothing settled, nothing closed.
        std::mem::forget(kept);
        std::mem::forget(journal);
        // The lock went with the "process" only in a real kill; release it by hand here.
        let _ = std::fs::remove_file(dir.join("LOCK"));
        let (_next, leftovers) = Journal::open(&dir, 4096).unwrap();
        assert_eq!(leftovers.segments.len(), 1);
        let records = read_records(&leftovers.segments[0]).unwrap();
        assert_eq!(
            records,
            vec![
                b"{\"n\":0}".to_vec(),
                b"{\"n\":1}".to_vec(),
                b"{\"n\":2}".to_vec()
            ]
        );
    }

    #[test]
    fn a_segment_goes_once_it_is_full_and_every_record_is_settled() {
        let dir = scratch();
        let (journal, _) = Journal::open(&dir, 4096).unwrap();
        let record = vec![b'x'; 1000];
        let first: Vec<Ticket> = (0..4).map(|_| journal.append(&record).unwrap()).collect();
        // The fifth record does not fit: a second segment starts.
        let second = journal.append(&record).unwrap();
        assert_eq!(segments(&dir).len(), 2);
        for ticket in first {
            ticket.settle();
        }
        assert_eq!(segments(&dir).len(), 1, "the full, settled segment is gone");
        second.settle();
        assert_eq!(
            segments(&dir).len(),
            1,
            "the active segment stays while written"
        );
        drop(journal);
        assert!(segments(&dir).is_empty(), "a clean close leaves nothing");
    }

    #[test]
    fn records_may_hold_any_bytes_but_not_be_empty() {
        let dir = scratch();
        let (journal, _) = Journal::open(&dir, 4096).unwrap();
        let binary = [0u8, b'\n', 255, 0];
        journal.append(&binary).unwrap().settle();
        assert!(journal.append(b"").is_err());
        assert_eq!(
            read_records(&segments(&dir)[0]).unwrap(),
            vec![binary.to_vec()]
        );
    }

    #[test]
    fn a_record_longer_than_a_segment_gets_its_own() {
        let dir = scratch();
        let (journal, _) = Journal::open(&dir, 4096).unwrap();
        let big = vec![b'y'; 10_000];
        let ticket = journal.append(&big).unwrap();
        let small = journal.append(b"after").unwrap();
        let files = segments(&dir);
        assert_eq!(files.len(), 2);
        assert_eq!(read_records(&files[0]).unwrap(), vec![big]);
        assert_eq!(read_records(&files[1]).unwrap(), vec![b"after".to_vec()]);
        ticket.settle();
        small.settle();
        journal.sync().unwrap();
    }

    #[test]
    fn one_process_at_a_time() {
        let dir = scratch();
        let (_journal, _) = Journal::open(&dir, 4096).unwrap();
        assert!(matches!(Journal::open(&dir, 4096), Err(Error::Locked(_))));
    }

    #[test]
    fn a_torn_last_record_and_the_zeroed_tail_are_skipped() {
        let dir = scratch();
        let path = dir.join(format!("{:020}{SEGMENT_SUFFIX}", 7));
        let mut bytes = Vec::new();
        for record in [&b"one"[..], b"two"] {
            bytes.extend(u32::try_from(record.len()).unwrap().to_le_bytes());
            bytes.extend(record);
        }
        // A torn record: its bytes were copied, its length never written.
        bytes.extend([0, 0, 0, 0]);
        bytes.extend(b"thr");
        bytes.resize(4096, 0);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(
            read_records(&path).unwrap(),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        let (journal, leftovers) = Journal::open(&dir, 4096).unwrap();
        assert_eq!(leftovers.segments, vec![path.clone()]);
        // New segments come after the leftovers.
        journal.append(b"new").unwrap().settle();
        assert!(segments(&dir).iter().any(|it| segment_seq(it) == Some(8)));
        remove(&path).unwrap();
        remove(&path).unwrap();
    }

    #[test]
    fn appends_from_many_threads_all_land_whole() {
        let dir = scratch();
        let (journal, _) = Journal::open(&dir, 64 * 1024).unwrap();
        let journal = Arc::new(journal);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let journal = journal.clone();
                std::thread::spawn(move || {
                    (0..2000)
                        .map(|i| journal.append(format!("{t}-{i}").as_bytes()).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let tickets: Vec<Ticket> = threads
            .into_iter()
            .flat_map(|it| it.join().unwrap())
            .collect();
        let mut records: Vec<Vec<u8>> = segments(&dir)
            .iter()
            .flat_map(|it| read_records(it).unwrap())
            .collect();
        records.sort();
        let mut expected: Vec<Vec<u8>> = (0..4)
            .flat_map(|t| (0..2000).map(move |i| format!("{t}-{i}").into_bytes()))
            .collect();
        expected.sort();
        assert_eq!(records, expected);
        for ticket in tickets {
            ticket.settle();
        }
    }
}
