use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// marsad: an open, fast observatory for extremist propaganda online.
///
/// Collect → fingerprint → match → group into releases → attribute to
/// outlets → measure → report. Works on material you lawfully hold.
#[derive(Debug, Parser)]
#[command(name = "marsad", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// The store: a SQLite file path (created on first use), or a PostgreSQL
    /// URL (`postgres://user@host:5432/db`; a schema may be named with
    /// `?options=-csearch_path%3DNAME`) shared by many processes.
    #[arg(long, global = true, env = "MARSAD_DB", default_value = "./marsad.db", value_name = "PATH|URL")]
    pub db: String,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Memory that decoded images, video frames and long texts may hold at
    /// once, shared by all workers (e.g. 512M, 2G; K, M, G are powers of
    /// 1024). An item needing more on its own is refused.
    #[arg(long, global = true, env = "MARSAD_MEMORY", default_value = "512M", value_name = "SIZE",
          value_parser = parse_memory)]
    pub memory: u64,

    /// The NATS server (with JetStream) of the work queue and the change
    /// feed, for the commands that use them (`ingest --queue`, `worker`,
    /// `jobs`, `serve` and bank changes on a PostgreSQL store).
    #[arg(
        long,
        global = true,
        env = "MARSAD_NATS",
        default_value = "nats://127.0.0.1:4222",
        value_name = "URL"
    )]
    pub nats: String,

    /// More log output on stderr (-v info, -vv debug); or set MARSAD_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the store (other commands create it on first use too).
    Init,
    /// Ingest channel exports and post feeds into the store.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// Counts of what the store holds.
    Stats,
    /// Stored posts: a post's text and its earlier texts.
    #[command(subcommand)]
    Posts(PostsCommand),
    /// Fingerprint files: PDQ, vPDQ, audio, MD5, SHA-256, text.
    #[command(subcommand)]
    Hash(HashCommand),
    /// Text tools: the Arabic-aware normalizer.
    #[command(subcommand)]
    Text(TextCommand),
    /// Hash banks: named collections of known signals.
    #[command(subcommand)]
    Bank(BankCommand),
    /// Match files (or a file of hashes) against the banks: one JSON line each.
    Match(MatchArgs),
    /// Matches against the banks found at ingest (or by --rescan).
    Matches(MatchesArgs),
    /// The outlet registry: media outlets, their names and channels.
    #[command(subcommand)]
    Outlets(OutletsCommand),
    /// Releases: sightings of the same content grouped, attributed to outlets.
    Releases(ReleasesArgs),
    /// Measurements over the releases: timelines, trends, silences,
    /// dormancy, recycling, amplification.
    #[command(subcommand)]
    Analyze(AnalyzeCommand),
    /// The theme taxonomy analysts code releases with: show, import.
    #[command(subcommand)]
    Themes(ThemesCommand),
    /// Write one self-contained HTML report with charts and tables.
    Report(ReportArgs),
    /// Write releases, sightings and outlets as CSV or Parquet files.
    Export(ExportArgs),
    /// Generate a synthetic corpus, ingest it, group it and write a report.
    Demo(DemoArgs),
    /// Serve HMA's matching API (and marsad's) over the store.
    Serve(ServeArgs),
    /// Access tokens for `marsad serve`: create, list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Accounts of the web UI: create, list, disable, passwd. Passwords are
    /// read from standard input (asked twice, unechoed, at a terminal).
    #[command(subcommand)]
    User(UserCommand),
    /// The audit log: every write, decision, export, lookup and refusal.
    Audit(AuditArgs),
    /// Take ingest batches from the work queue (NATS JetStream) and apply
    /// them to the PostgreSQL store: fingerprint, match, write, acknowledge.
    Worker(WorkerArgs),
    /// Ingests run through the work queue: progress, summaries, dead letters.
    Jobs(JobsArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free one).
    #[arg(long, env = "MARSAD_ADDR", default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: std::net::SocketAddr,
    /// Serve the HMA routes /h and /m without a token (for integrations
    /// that cannot send one).
    #[arg(long, env = "MARSAD_HMA_OPEN")]
    pub hma_open: bool,
    /// Largest upload (e.g. 100M).
    #[arg(long, env = "MARSAD_MAX_UPLOAD", default_value = "100M", value_name = "SIZE", value_parser = parse_memory)]
    pub max_upload: u64,
    /// The PDQ distance of banks without their own (inclusive).
    #[arg(long, env = "MARSAD_PDQ_THRESHOLD", default_value_t = 31, value_name = "N")]
    pub threshold: u32,
    /// How often the index looks for bank changes made elsewhere, in
    /// milliseconds.
    #[arg(long, env = "MARSAD_REFRESH_MS", default_value_t = 100, value_name = "MS")]
    pub refresh_ms: u64,
    /// Connections to the store.
    #[arg(long, env = "MARSAD_CONNECTIONS", default_value_t = 4, value_name = "N")]
    pub connections: usize,
    /// Requests handled at once (more wait).
    #[arg(long, env = "MARSAD_CONCURRENCY", default_value_t = 1024, value_name = "N")]
    pub concurrency: usize,
    /// Requests one token (or, on an open route, one client address) may
    /// have in flight; more are answered 429.
    #[arg(long, env = "MARSAD_TOKEN_CONCURRENCY", default_value_t = 256, value_name = "N")]
    pub token_concurrency: usize,
    /// Fetch URLs named in requests (`/h/hash?url=`…): http and https to
    /// public addresses only, every redirect checked; off by default.
    #[arg(long, env = "MARSAD_ALLOW_URL_FETCH")]
    pub allow_url_fetch: bool,
    /// A network URL fetching may reach although it is not public (e.g.
    /// 127.0.0.1/32 for tests); repeatable.
    #[arg(long, value_name = "CIDR")]
    pub fetch_allow: Vec<String>,
    /// The folder for files in use (uploads, fetched files, jobs' extracted
    /// exports, reports being sent); the system's temporary folder by
    /// default. Each is removed when done with.
    #[arg(long, env = "MARSAD_SCRATCH_DIR", value_name = "DIR")]
    pub scratch_dir: Option<std::path::PathBuf>,
    /// POST each review decision, as JSON, to this URL (http or https),
    /// signed with the secret of MARSAD_REVIEW_WEBHOOK_SECRET
    /// (X-Marsad-Signature: sha256=HMAC-SHA256 of the body); retried with
    /// backoff.
    #[arg(long, env = "MARSAD_REVIEW_WEBHOOK", value_name = "URL")]
    pub review_webhook: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; it is printed once and stored hashed.
    Create {
        /// What it may do: viewer, analyst, moderator or admin.
        #[arg(long, value_name = "ROLE")]
        role: String,
        /// A name to tell it by (unique among tokens not revoked).
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// Every token, revoked ones too (never the tokens themselves).
    List,
    /// Revoke a token: it stops working within a second.
    Revoke {
        /// The token's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Make a user; the password is read from standard input.
    Create {
        /// The name the user signs in with (letters, digits, `.`, `_`, `-`, `@`).
        name: String,
        /// What the user may do: viewer, analyst, moderator or admin.
        #[arg(long, value_name = "ROLE")]
        role: String,
    },
    /// Every user, disabled ones too (never a password).
    List,
    /// Disable a user: they cannot sign in, their sessions end.
    Disable {
        /// The user's name.
        name: String,
    },
    /// Set a user's password, read from standard input; their sessions end.
    Passwd {
        /// The user's name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// At most this many events, the newest.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
    /// The heading of the report.
    #[arg(long, default_value = "marsad report")]
    pub title: String,
    /// Gaps of at least this many hours between releases are silences.
    #[arg(long, default_value_t = 24.0, value_name = "H")]
    pub silence_hours: f64,
    /// An outlet is silent when it released nothing in this many days.
    #[arg(long, default_value_t = 30.0, value_name = "K")]
    pub dormancy_days: f64,
    /// A sighting is recycled when its release is at least this many days old.
    #[arg(long, default_value_t = 30.0, value_name = "N")]
    pub recycling_days: f64,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// A table file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Csv,
    Parquet,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// csv or parquet.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: TableFormat,
    /// The folder to write releases, sightings and outlets into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Whose PDQ variant `marsad hash pdq --compat` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PdqCompat {
    /// python-threatexchange's `pdq_from_file` (palette indices, C/M/Y as R/G/B).
    Pytx,
}

#[derive(Debug, Subcommand)]
pub enum HashCommand {
    /// PDQ perceptual hashes of images: one line `HASH,QUALITY,FILE` per file.
    Pdq {
        /// Print the eight dihedral hashes (original, rot90, rot180, rot270,
        /// flip-x, flip-y, flip-plus-1, flip-minus-1), then quality and file.
        #[arg(long)]
        dihedral: bool,
        /// Hash as Meta's C++ command-line tool does (images over 512 pixels
        /// on a side resized to 512×512 by nearest neighbour, float32 luma)
        /// instead of the full-resolution reference of the Python bindings.
        #[arg(long)]
        cpp_tool: bool,
        /// Print another tool's variant: `pytx`, the hash
        /// python-threatexchange (and HMA) computes, which differs from the
        /// true-colour hash for palette and CMYK images.
        #[arg(long, value_enum, value_name = "TOOL", conflicts_with_all = ["dihedral", "cpp_tool"])]
        compat: Option<PdqCompat>,
        #[command(flatten)]
        files: FileArgs,
    },
    /// vPDQ video hashes: one line `FRAME_NUMBER,QUALITY,HASH,TIMESTAMP_SECONDS`
    /// per hashed frame.
    Vpdq {
        /// Hash one frame every this many seconds (0: every frame).
        #[arg(long, default_value_t = 1.0, value_name = "S")]
        seconds_per_hash: f64,
        /// Downscale frames to this width before hashing (with --downsample-height).
        #[arg(long, requires = "downsample_height", value_name = "W")]
        downsample_width: Option<u32>,
        /// Downscale frames to this height before hashing (with --downsample-width).
        #[arg(long, requires = "downsample_width", value_name = "H")]
        downsample_height: Option<u32>,
        /// The video file.
        file: PathBuf,
    },
    /// Chromaprint audio fingerprints (the default algorithm, as `fpcalc -raw`).
    Audio {
        /// Seconds of audio to fingerprint from the start (fpcalc's -length).
        #[arg(long, default_value_t = 120, value_name = "SECONDS")]
        length: u32,
        #[command(flatten)]
        files: FileArgs,
    },
    /// MD5 of bytes: `HASH  FILE` lines, as md5sum prints them.
    Md5 {
        #[command(flatten)]
        files: FileArgs,
    },
    /// SHA-256 of bytes: `HASH  FILE` lines, as sha256sum prints them.
    Sha256 {
        #[command(flatten)]
        files: FileArgs,
    },
    /// Normalized text and its MinHash signature, as JSON.
    Text {
        /// The text; without it, the whole of standard input is one text.
        text: Option<String>,
        /// Treat each line of standard input as a text (one JSON line each).
        #[arg(long, conflicts_with = "text")]
        lines: bool,
        /// Permutations of the signature.
        #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4096))]
        permutations: u32,
    },
}

#[derive(Debug, Args)]
pub struct MatchesArgs {
    /// First match every item already in the store against the banks as
    /// they are now (for banks imported after the items were ingested), and
    /// store the new matches.
    #[arg(long)]
    pub rescan: bool,
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// Files to hash; a folder means every file under it, in name order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Files hashed at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum TextCommand {
    /// Normalize each line of standard input (NFKC, Arabic marks and tatweel
    /// dropped, letter variants unified, punctuation to spaces, lowercase,
    /// spaces collapsed) and write it to standard output.
    Normalize,
}

#[derive(Debug, Subcommand)]
pub enum PostsCommand {
    /// A post's text now and the texts it had before edits seen on later
    /// ingests, oldest first.
    History {
        /// The source, platform:id (telegram:1000000001).
        source: String,
        /// The post's id within the source.
        post_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// A Telegram Desktop JSON export: a chat export folder, a whole-account
    /// export folder, or its result.json.
    Telegram {
        /// Export folder or result.json.
        path: PathBuf,
        #[command(flatten)]
        opts: IngestOpts,
    },
    /// JSON lines, one post per line (schema in the README).
    Jsonl {
        /// The .jsonl file.
        file: PathBuf,
        #[command(flatten)]
        opts: IngestOpts,
    },
}

#[derive(Debug, Args)]
pub struct IngestOpts {
    /// Keep media bytes in the store's media folder (content-addressed,
    /// beside the database). By default only fingerprints and paths are kept.
    #[arg(long)]
    pub retain_media: bool,

    /// Posts per transaction (per job with --queue) [default: 2000; 200 with --queue].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: Option<u32>,

    /// Publish the batches on the work queue (NATS JetStream, --nats) for
    /// `marsad worker`s to fingerprint and write, instead of doing it here
    /// (a PostgreSQL store). Waits for the workers and prints the summary,
    /// unless --no-wait.
    #[arg(long)]
    pub queue: bool,

    /// With --queue: send each media file's bytes through the queue (the
    /// JetStream object store), for workers that do not share this
    /// machine's file system; by default workers read the files at the
    /// paths the export names.
    #[arg(long, requires = "queue")]
    pub send_media: bool,

    /// With --queue: return once every batch is queued (follow it with
    /// `marsad jobs --watch`).
    #[arg(long, requires = "queue")]
    pub no_wait: bool,

    /// Store exact digests only (SHA-256, MD5): no PDQ, vPDQ, audio or text
    /// fingerprints. A later ingest without this flag adds them.
    #[arg(long)]
    pub no_fingerprints: bool,

    /// vPDQ: hash one video frame every this many seconds.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub seconds_per_hash: f64,

    /// Telegram: the zone of `date` values without an offset, used when a
    /// message has no `date_unixtime` (Telegram Desktop writes the exporting
    /// computer's local time): an IANA name (Asia/Baghdad) or an offset
    /// (+03:00). Default UTC.
    #[arg(long, value_name = "ZONE")]
    pub export_timezone: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Threads this worker fingerprints with. Scale by running more
    /// workers (one per core, on any number of machines).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,

    /// Exit after this many seconds without a job (default: run until
    /// stopped by SIGINT or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub idle_exit: Option<f64>,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// One queued ingest run, with its dead letters.
    #[arg(long, value_name = "ID")]
    pub run: Option<i64>,

    /// Follow the runs until none is running (one line per change).
    #[arg(long)]
    pub watch: bool,

    /// Runs shown, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the generated corpus and its store (DIR/marsad.db).
    #[arg(long, default_value = "./marsad-demo", value_name = "DIR")]
    pub out: PathBuf,

    /// Seed of the generator (same seed, same corpus).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

/// A signal type on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SignalArg {
    Pdq,
    Vpdq,
    Md5,
    Sha256,
    Audio,
    Text,
}

impl SignalArg {
    pub fn signal(self) -> marsad_engine::SignalType {
        use marsad_engine::SignalType as S;
        match self {
            SignalArg::Pdq => S::Pdq,
            SignalArg::Vpdq => S::Vpdq,
            SignalArg::Md5 => S::Md5,
            SignalArg::Sha256 => S::Sha256,
            SignalArg::Audio => S::Audio,
            SignalArg::Text => S::Text,
        }
    }
}

/// A bank file format on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BankFormat {
    /// `VALUE[,LABEL]` per line.
    Csv,
    /// `{"type", "value", "labels"}` per line.
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum BankCommand {
    /// Create an empty bank.
    Create {
        /// Its name.
        name: String,
    },
    /// List the banks with their entry counts.
    List,
    /// Delete a bank, its entries and the matches found against it.
    Delete {
        /// Its name.
        name: String,
    },
    /// Import signals from a file: `VALUE` or `VALUE,LABEL` per line (CSV),
    /// or `{"type", "value", "labels"}` per line (JSON lines).
    Import {
        /// The bank.
        name: String,
        /// The file ('-' for standard input).
        file: PathBuf,
        /// Signal type of the values (required for CSV).
        #[arg(long = "type", value_enum)]
        signal_type: Option<SignalArg>,
        /// File format.
        #[arg(long, value_enum, default_value = "csv")]
        format: BankFormat,
        /// Create the bank if it does not exist.
        #[arg(long)]
        create: bool,
    },
    /// Write a bank's entries to standard output, in the format import reads.
    Export {
        /// The bank.
        name: String,
        /// File format.
        #[arg(long, value_enum, default_value = "csv")]
        format: BankFormat,
        /// Only entries of this type (CSV needs one type).
        #[arg(long = "type", value_enum)]
        signal_type: Option<SignalArg>,
    },
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Only matches in these banks (all banks by default).
    #[arg(long = "bank", value_name = "NAME")]
    pub banks: Vec<String>,
    /// PDQ: largest Hamming distance that matches (inclusive).
    #[arg(long, default_value_t = 31, value_parser = clap::value_parser!(u32).range(0..=256))]
    pub threshold: u32,
    /// PDQ: also match the image's rotations and mirror images.
    #[arg(long)]
    pub dihedral: bool,
    /// Text: least Jaccard similarity that matches.
    #[arg(long, default_value_t = 0.8, value_name = "J")]
    pub text_threshold: f64,
    /// vPDQ: least share (%) of the query's frames that must match.
    #[arg(long, default_value_t = 80.0, value_name = "PERCENT")]
    pub vpdq_query_threshold: f64,
    /// vPDQ: least share (%) of the bank video's frames that must match.
    #[arg(long, default_value_t = 0.0, value_name = "PERCENT")]
    pub vpdq_compared_threshold: f64,
    /// Audio: largest bit error rate at the best alignment.
    #[arg(long, default_value_t = 0.2, value_name = "RATE")]
    pub audio_max_ber: f64,
    /// vPDQ: seconds between hashed frames of query videos.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub seconds_per_hash: f64,
    /// Read query values, one per line, from this file instead of hashing
    /// files ('-' for standard input).
    #[arg(long, value_name = "FILE", requires = "query_type", conflicts_with = "files")]
    pub hashes: Option<PathBuf>,
    /// Signal type of the values in --hashes.
    #[arg(long = "type", value_enum)]
    pub query_type: Option<SignalArg>,
    /// Files to fingerprint and match.
    #[arg(value_name = "FILE", required_unless_present = "hashes")]
    pub files: Vec<PathBuf>,
    /// Files matched at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum OutletsCommand {
    /// Replace the registry with a TOML file of [[outlet]] tables (name,
    /// aliases, channels = ["platform:id"], region, parent).
    Import {
        /// The TOML file.
        file: PathBuf,
    },
    /// List the registry.
    List,
}

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub time: TimeArgs,
}

/// The inclusion filters every analytics command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only releases attributed to a registered outlet.
    #[arg(long)]
    pub official_only: bool,
    /// Formats to include (video, photo, photo_report, audio, text,
    /// document), comma-separated; prefix one with '-' or '!' to exclude
    /// it instead (e.g. --format=-text).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Only releases of this outlet (repeatable).
    #[arg(long, value_name = "NAME")]
    pub outlet: Vec<String>,
}

/// A time range.
#[derive(Debug, Args, Clone, Default)]
pub struct TimeArgs {
    /// Only releases first seen at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_name = "T")]
    pub from: Option<String>,
    /// Only releases first seen before this time.
    #[arg(long, value_name = "T")]
    pub to: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AnalyzeCommand {
    /// Releases (by first seen) and sightings per time bucket.
    Timeline {
        /// hour, day, week, month, hijri-month (Umm al-Qura) or year.
        #[arg(long, default_value = "day")]
        bucket: String,
        /// Group by outlet, format, language or source.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Releases per month with change, decline from peak and rolling sum.
    Trend {
        /// month, hijri-month or year.
        #[arg(long, default_value = "month")]
        bucket: String,
        /// Group by outlet.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Gaps of at least H hours between consecutive releases.
    Silences {
        /// Least gap, in hours.
        #[arg(long, value_name = "H")]
        min_hours: f64,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Which outlets are silent at a time (no release in the K days before).
    Dormancy {
        /// The time.
        #[arg(long, value_name = "T")]
        at: String,
        /// The window, in days.
        #[arg(long, value_name = "K")]
        days: f64,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Share of sightings in a window that are of old releases.
    Recycling {
        /// Window start (inclusive).
        #[arg(long = "from", value_name = "T1")]
        window_from: String,
        /// Window end (exclusive).
        #[arg(long = "to", value_name = "T2")]
        window_to: String,
        /// A sighting is recycled when its release is at least this many days older.
        #[arg(long, value_name = "N")]
        min_age_days: f64,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// How releases spread: sightings, channels, hours to the 2nd and 10th sighting.
    Amplification {
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Share of coded releases per primary theme per bucket (by the coders'
    /// majority), and the coders' agreement (Cohen's kappa per pair,
    /// Krippendorff's alpha overall).
    Themes {
        /// day, week, month, hijri-month (Umm al-Qura) or year.
        #[arg(long, default_value = "month")]
        bucket: String,
        /// Group by outlet.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        time: TimeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ThemesCommand {
    /// Print the taxonomy in use (Winter's six of 2015 unless another was imported).
    Show,
    /// Make the taxonomy of a TOML file ([[theme]] tables: key, label, description) the one in use.
    Import {
        /// The TOML file.
        file: std::path::PathBuf,
    },
}

/// `--memory`: a size such as `512M`, `2G` or `1.5GiB`.
fn parse_memory(s: &str) -> Result<u64, String> {
    marsad_engine::parse_size(s)
}
