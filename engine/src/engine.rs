//! The detector compiler: built-in and custom definitions in, one immutable [`Engine`] out.
//!
//! Compilation turns every pattern into (a) the cheap trigger that finds its candidates (literals
//! for one shared Aho-Corasick automaton, or a byte-class scan) and (b) a `regex-automata` regex
//! that confirms a candidate within a bounded region, plus its validator and context words. This
//! module owns that translation; it never scans text (that is `scan`'s job).

use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use regex_automata::meta;
use regex_automata::PatternID;

use crate::error::{Error, ErrorKind};
use crate::finding::{Category, Confidence, Finding, Mask, Normalize};
use crate::literals;
use crate::prefilter::{Prefilter, PrefilterBuilder};
use crate::rules::{self, PatternDef, Trigger};
use crate::scan::Scanner;
use crate::validate::Validator;

/// The shortest run of token bytes that triggers a pattern: runs this long are rare in prose
/// and code (but for hashes, keys and encoded data).
const RUN_TRIGGER: usize = 20;

/// How far from its literal a custom rule's match may reach, in bytes, and so how much of a long
/// line around the literal the confirming regex sees.
pub(crate) const REGION_REACH: usize = 4096;

/// The longest match any pattern may produce. Matches are cut at this length, and the scanner's
/// chunk overlap is sized from it so that no match is lost at a chunk border.
pub(crate) const MAX_MATCH_LEN: usize = 32 * 1024;

/// A public description of a detector.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DetectorInfo {
    /// Stable id, e.g. `credit_card`.
    pub id: String,
    /// Category of what it finds.
    pub category: Category,
    /// Confidence of its findings (some patterns or validators may report lower).
    pub confidence: Confidence,
    /// What it finds and how it checks it.
    pub description: String,
    /// Whether it ships with the engine (`false` for rules from a rule file).
    pub builtin: bool,
}

/// How a literal hit turns into a candidate region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HitKind {
    /// The pattern must match starting at the literal.
    Anchored,
    /// The pattern runs over the region around the literal.
    Region,
    /// The literal is a keyword and the keyword is the match.
    Keyword,
}

/// One pattern a literal of the shared automaton serves.
#[derive(Clone, Debug)]
pub(crate) struct LiteralTarget {
    pub pattern: usize,
    pub kind: HitKind,
}

/// Hand-written matchers for built-in patterns on hot paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Native {
    /// `(?-u:\b)(?:\d[ -]?){12,18}\d(?-u:\b)` over a digit run.
    CardDigits,
}

/// A literal that every match of a pattern contains, with a searcher built once.
#[derive(Debug)]
pub(crate) struct Must {
    finder: memchr::memmem::Finder<'static>,
    literal: literals::Literal,
}

impl Must {
    fn new(literal: literals::Literal) -> Self {
        Must {
            finder: memchr::memmem::Finder::new(&literal.bytes).into_owned(),
            literal,
        }
    }

    /// Whether `hay` contains the literal.
    pub(crate) fn is_in(&self, hay: &[u8]) -> bool {
        if !self.literal.case_insensitive {
            return self.finder.find(hay).is_some();
        }
        let bytes = &self.literal.bytes;
        let Some(&first) = bytes.first() else {
            return true;
        };
        memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), hay).any(|i| {
            hay.get(i..i + bytes.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(bytes))
        })
    }
}

/// Which run-triggered patterns a run concerns. Many such rules name a service next to a token
/// (`graph.{0,40}[a-z0-9]{32}`): a run only concerns those whose required literal is on its
/// line. One search of the line for all those literals replaces a search per rule.
#[derive(Debug)]
pub(crate) struct RunFilter {
    /// The first required literal of each line-bounded run pattern that has one, in any case
    /// (`None` when no pattern has one).
    pub ac: Option<AhoCorasick>,
    /// Per literal of `ac`, the indexes in `class_runs` of the patterns that require it.
    pub targets: Vec<Vec<usize>>,
    /// The indexes in `class_runs` of the patterns that are not filtered (they take every run
    /// long enough), by increasing run length.
    pub unfiltered: Vec<usize>,
}

impl RunFilter {
    fn build(
        class_runs: &[(usize, usize)],
        patterns: &[Pattern],
    ) -> Result<Option<RunFilter>, Error> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut targets: Vec<Vec<usize>> = Vec::new();
        let mut unfiltered = Vec::new();
        for (k, &(p, _)) in class_runs.iter().enumerate() {
            let pattern = &patterns[p];
            let Some(must) = pattern.must.first().filter(|_| pattern.line_bounded) else {
                unfiltered.push(k);
                continue;
            };
            let key = must.literal.bytes.to_ascii_lowercase();
            match keys.iter().position(|x| *x == key) {
                Some(i) => targets[i].push(k),
                None => {
                    keys.push(key);
                    targets.push(vec![k]);
                }
            }
        }
        unfiltered.sort_by_key(|&k| class_runs[k].1);
        if class_runs.is_empty() {
            return Ok(None);
        }
        let ac = if keys.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(&keys)
                    .map_err(|e| {
                        Error::new(ErrorKind::Rules, format!("run filter automaton: {e}"))
                    })?,
            )
        };
        Ok(Some(RunFilter {
            ac,
            targets,
            unfiltered,
        }))
    }
}

/// Context words that must appear near a match.
#[derive(Debug)]
pub(crate) struct Context {
    pub words: AhoCorasick,
    pub window: usize,
}

/// One compiled pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub id: Box<str>,
    pub category: Category,
    pub confidence: Confidence,
    /// `None` for keyword rules.
    pub regex: Option<meta::Regex>,
    /// The capture group whose span is the finding (a group named `secret`).
    pub secret_group: Option<usize>,
    pub validator: Option<Validator>,
    pub context: Option<Context>,
    pub min_count: usize,
    pub normalize: Normalize,
    pub mask: Mask,
    /// Upper bound of a match's length, used to bound anchored searches.
    pub max_len: usize,
    /// Regions of a derived-literal rule stop at line ends.
    pub line_bounded: bool,
    /// A hand-written matcher giving exactly the regex's matches (built-ins only).
    pub native: Option<Native>,
    /// The regex begins with an ASCII word boundary (`(?-u:\b)`).
    pub starts_with_boundary: bool,
    /// How far a region reaches from its literal.
    pub reach: usize,
    /// Keyword rules only: keywords must stand as whole words.
    pub whole_word: bool,
    /// Literals every match contains: a region without one of them is not searched.
    pub must: Vec<Must>,
    /// The regular expression as written (empty for keyword rules).
    pub source: String,
    /// Keyword rules only: the keywords (for the reference path).
    pub keywords: Vec<String>,
    /// Keyword rules only: whether keywords match in their exact case.
    pub keywords_case_sensitive: bool,
}

/// A compiled, immutable set of detectors. Build it once with [`EngineBuilder`], share it between
/// threads (it is `Send + Sync`), and scan with a per-thread [`Scanner`] from [`Engine::scanner`]
/// or with the one-shot helpers.
#[derive(Debug)]
pub struct Engine {
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) detectors: Vec<DetectorInfo>,
    /// The first pass over every literal of every pattern.
    pub(crate) literals: Option<Prefilter>,
    /// Patterns over digit runs, with the least and most digits a match has.
    pub(crate) digit_runs: Vec<(usize, usize, usize)>,
    /// Patterns that start two letters before a digit run.
    pub(crate) country_codes: Vec<usize>,
    /// Patterns around `@`.
    pub(crate) at_signs: Vec<usize>,
    /// Patterns triggered by a run of token bytes: (pattern, least run length).
    pub(crate) class_runs: Vec<(usize, usize)>,
    /// Which run-triggered patterns have their required literal near a run.
    pub(crate) run_filter: Option<RunFilter>,
    /// Patterns without a usable literal: their regex runs over all text.
    pub(crate) full_scans: Vec<usize>,
    /// The smallest digit count any digit-run pattern needs.
    pub(crate) min_run_digits: usize,
    /// Whether any pattern needs `min_count` bookkeeping.
    pub(crate) has_min_count: bool,
    /// Custom rules left out because they did not compile (with `skip_invalid_rules`).
    pub(crate) rule_errors: Vec<Error>,
}

/// Configures and builds an [`Engine`].
///
/// ```
/// let mut builder = dlp_engine::EngineBuilder::new();
/// builder.rules_toml("[[rule]]\nid = \"project_code\"\npattern = 'PRJ-[0-9]{6}'\n", "inline");
/// let engine = builder.build()?;
/// let findings = engine.scan_text("see PRJ-123456 and 4111 1111 1111 1111");
/// assert_eq!(findings.len(), 2);
/// # Ok::<(), dlp_engine::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct EngineBuilder {
    no_builtins: bool,
    skip_invalid: bool,
    only: Option<Vec<String>>,
    rule_sources: Vec<(String, String)>,
}

impl EngineBuilder {
    /// A builder with every built-in detector and no custom rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to include the built-in detectors (default `true`).
    pub fn builtins(&mut self, yes: bool) -> &mut Self {
        self.no_builtins = !yes;
        self
    }

    /// Whether a custom rule that does not compile is left out (and listed by
    /// [`Engine::rule_errors`]) instead of failing the build. Default `false`: a user's rule
    /// file should be right; loading large third-party rule sets is the use for `true`.
    pub fn skip_invalid_rules(&mut self, yes: bool) -> &mut Self {
        self.skip_invalid = yes;
        self
    }

    /// Keeps only the detectors with these ids (built-in or custom). Unknown ids make
    /// [`EngineBuilder::build`] fail with [`ErrorKind::UnknownDetector`].
    pub fn detectors<I, S>(&mut self, ids: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// Adds the rules of a TOML rule file given as text; `origin` names it in errors.
    pub fn rules_toml(&mut self, text: &str, origin: &str) -> &mut Self {
        self.rule_sources
            .push((origin.to_string(), text.to_string()));
        self
    }

    /// Reads a TOML rule file and adds its rules.
    pub fn rules_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read rule file {}", path.display()), e))?;
        Ok(self.rules_toml(&text, &path.display().to_string()))
    }

    /// Compiles the detectors.
    pub fn build(&self) -> Result<Engine, Error> {
        let mut defs = Vec::new();
        if !self.no_builtins {
            defs.extend(rules::builtin()?.into_iter().map(|d| (d, true)));
        }
        let mut ids: std::collections::HashSet<String> =
            defs.iter().map(|(d, _)| d.id.clone()).collect();
        // Custom rules that state what they must and must not find, to check once compiled.
        let mut with_examples: Vec<PatternDef> = Vec::new();
        for (origin, text) in &self.rule_sources {
            for def in rules::parse_rule_file(text, origin)? {
                if !ids.insert(def.id.clone()) {
                    return Err(Error::new(
                        ErrorKind::Rules,
                        format!(
                            "{origin}: rule `{}`: a detector with this id already exists; pick \
                             another id",
                            def.id
                        ),
                    ));
                }
                if !def.examples.is_empty() || !def.negatives.is_empty() {
                    with_examples.push(def.clone());
                }
                defs.push((def, false));
            }
        }
        if let Some(only) = &self.only {
            let unknown: Vec<&str> = only
                .iter()
                .filter(|id| !defs.iter().any(|(d, _)| &d.id == *id))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                let mut known: Vec<&str> = defs.iter().map(|(d, _)| d.id.as_str()).collect();
                known.dedup();
                return Err(Error::new(
                    ErrorKind::UnknownDetector,
                    format!(
                        "unknown detector id(s): {}; known: {}",
                        unknown.join(", "),
                        known.join(", ")
                    ),
                ));
            }
            defs.retain(|(d, _)| only.contains(&d.id));
        }
        let engine = compile(defs, self.skip_invalid)?;
        // Hold a user's rule to its examples now rather than let a wrong rule run silently.
        for def in &with_examples {
            if !engine.detectors.iter().any(|d| d.id == def.id) {
                continue; // left out by `detectors` or `skip_invalid_rules`
            }
            if let Some(problem) = example_problem(&engine, def) {
                return Err(Error::new(
                    ErrorKind::Rules,
                    format!("{}: rule `{}`: {problem}", def.origin, def.id),
                ));
            }
        }
        Ok(engine)
    }
}

/// Runs a definition's examples and negatives; says what is wrong, if anything.
pub(crate) fn example_problem(engine: &Engine, def: &PatternDef) -> Option<String> {
    for example in &def.examples {
        let n = engine
            .scan_text(example)
            .iter()
            .filter(|f| f.detector == def.id)
            .count();
        if n != 1 {
            return Some(format!(
                "example {example:?} gives {n} findings of this rule, expected 1"
            ));
        }
    }
    for negative in &def.negatives {
        if engine
            .scan_text(negative)
            .iter()
            .any(|f| f.detector == def.id)
        {
            return Some(format!(
                "negative example {negative:?} gives a finding of this rule, expected none"
            ));
        }
    }
    None
}

fn compile(defs: Vec<(PatternDef, bool)>, skip_invalid: bool) -> Result<Engine, Error> {
    let mut engine = Engine {
        patterns: Vec::with_capacity(defs.len()),
        detectors: Vec::new(),
        literals: None,
        digit_runs: Vec::new(),
        country_codes: Vec::new(),
        at_signs: Vec::new(),
        class_runs: Vec::new(),
        run_filter: None,
        full_scans: Vec::new(),
        min_run_digits: usize::MAX,
        has_min_count: false,
        rule_errors: Vec::new(),
    };
    let mut prefilter = PrefilterBuilder::default();
    let mut seen_ids: std::collections::HashSet<String> = std::collections::HashSet::new();

    for (def, builtin) in defs {
        let fail = |msg: String| {
            Error::new(
                ErrorKind::Rules,
                format!("{}: rule `{}`: {msg}", def.origin, def.id),
            )
        };
        let prepared = prepare(&def).map_err(fail);
        let (context, compiled) = match prepared {
            Ok(p) => p,
            Err(e) if skip_invalid && !builtin => {
                engine.rule_errors.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if seen_ids.insert(def.id.clone()) {
            engine.detectors.push(DetectorInfo {
                id: def.id.clone(),
                category: def.category,
                confidence: def.confidence,
                description: def.description.clone(),
                builtin,
            });
        }
        let index = engine.patterns.len();
        let mut pattern = Pattern {
            id: def.id.clone().into_boxed_str(),
            category: def.category,
            confidence: def.confidence,
            regex: None,
            secret_group: None,
            validator: def.validator,
            context,
            min_count: def.min_count,
            normalize: def.normalize,
            mask: def.mask,
            max_len: MAX_MATCH_LEN,
            line_bounded: false,
            native: None,
            starts_with_boundary: false,
            reach: REGION_REACH,
            whole_word: def.whole_word,
            must: Vec::new(),
            source: def.pattern.clone(),
            keywords: def.keywords.iter().map(|k| k.trim().to_string()).collect(),
            keywords_case_sensitive: def.case_sensitive,
        };
        engine.has_min_count |= def.min_count > 1;

        if def.trigger == Trigger::Keywords {
            for word in &def.keywords {
                prefilter.add(
                    word.trim().as_bytes(),
                    !def.case_sensitive,
                    LiteralTarget {
                        pattern: index,
                        kind: HitKind::Keyword,
                    },
                );
            }
            if pattern.normalize == Normalize::None && !def.case_sensitive {
                pattern.normalize = Normalize::Lower;
            }
            engine.patterns.push(pattern);
            continue;
        }

        let Some((hir, regex)) = compiled else {
            // Keyword rules are handled above; a pattern rule always compiles a regex.
            continue;
        };
        pattern.secret_group = regex.group_info().to_index(PatternID::ZERO, "secret");
        pattern.max_len = hir
            .properties()
            .maximum_len()
            .map_or(MAX_MATCH_LEN, |n| n.min(MAX_MATCH_LEN));
        pattern.line_bounded = !literals::can_match_newline(&hir);
        pattern.starts_with_boundary = literals::starts_with_ascii_boundary(&hir);
        pattern.native = match def.native.as_deref() {
            None => None,
            Some("card_digits") => Some(Native::CardDigits),
            Some(other) => return Err(fail(format!("unknown native matcher `{other}`"))),
        };
        pattern.reach = pattern.max_len.min(REGION_REACH);
        pattern.regex = Some(regex);

        match &def.trigger {
            Trigger::Prefixes(prefixes) => {
                // A built-in's prefixes have the case its pattern gives them.
                let case_insensitive = def.pattern.starts_with("(?i)");
                for prefix in prefixes {
                    prefilter.add(
                        prefix.as_bytes(),
                        case_insensitive,
                        LiteralTarget {
                            pattern: index,
                            kind: HitKind::Anchored,
                        },
                    );
                }
            }
            Trigger::Derived => {
                let set = literals::required(&hir)
                    .filter(|set| set.literals.iter().all(literals::usable));
                // A run of token bytes (`[a-z0-9]{32}`) is the better trigger when the literal
                // is a word of prose, or when there is none.
                let run = Some(literals::token_run(&hir)).filter(|&n| n >= RUN_TRIGGER);
                match (set, run) {
                    (set, Some(n)) if set.as_ref().is_none_or(literals::word_like) => {
                        pattern.must = literals::all_required(&hir)
                            .into_iter()
                            .map(Must::new)
                            .collect();
                        pattern.reach = pattern.max_len.min(REGION_REACH);
                        engine.class_runs.push((index, n));
                    }
                    (Some(set), _) => {
                        let kind = if set.prefix {
                            // Every match starts at an occurrence: search anchored there, as
                            // far as a region search would reach from it.
                            pattern.max_len = pattern.max_len.min(REGION_REACH);
                            HitKind::Anchored
                        } else {
                            pattern.must = literals::all_required(&hir)
                                .into_iter()
                                .map(Must::new)
                                .collect();
                            // Region searches must see a match whole even if it is unbounded.
                            pattern.reach = if pattern.line_bounded {
                                REGION_REACH
                            } else {
                                pattern.max_len.min(REGION_REACH)
                            };
                            HitKind::Region
                        };
                        for lit in set.literals {
                            prefilter.add(
                                &lit.bytes,
                                lit.case_insensitive,
                                LiteralTarget {
                                    pattern: index,
                                    kind,
                                },
                            );
                        }
                    }
                    (None, _) => engine.full_scans.push(index),
                }
            }
            Trigger::DigitRun(min, max) => {
                engine.digit_runs.push((index, *min, *max));
                engine.min_run_digits = engine.min_run_digits.min(*min);
            }
            Trigger::CountryCode => engine.country_codes.push(index),
            Trigger::At => engine.at_signs.push(index),
            Trigger::Keywords => {}
        }
        engine.patterns.push(pattern);
    }

    engine.literals = prefilter.build()?;
    engine.run_filter = RunFilter::build(&engine.class_runs, &engine.patterns)?;
    Ok(engine)
}

/// The fallible part of compiling one definition: context words, and the pattern's syntax tree
/// and regex (none for keyword rules).
#[allow(clippy::type_complexity)]
fn prepare(
    def: &PatternDef,
) -> Result<
    (
        Option<Context>,
        Option<(regex_syntax::hir::Hir, meta::Regex)>,
    ),
    String,
> {
    let context = if def.context.is_empty() {
        None
    } else {
        let words = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(&def.context)
            .map_err(|e| format!("context words: {e}"))?;
        Some(Context {
            words,
            window: def.context_window,
        })
    };
    if def.trigger == Trigger::Keywords {
        return Ok((context, None));
    }
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(&def.pattern)
        .map_err(|e| format!("invalid pattern: {e}"))?;
    if hir.properties().minimum_len() == Some(0) {
        return Err("pattern matches the empty string; make at least one part required".into());
    }
    let regex = meta::Builder::new()
        .configure(meta::Config::new().utf8_empty(false))
        .build_from_hir(&hir)
        .map_err(|e| format!("pattern cannot be compiled: {e}"))?;
    Ok((context, Some((hir, regex))))
}

impl Engine {
    /// Custom rules that were left out because they do not compile, when the builder was told
    /// to [skip invalid rules](EngineBuilder::skip_invalid_rules). Each error names its rule.
    pub fn rule_errors(&self) -> &[Error] {
        &self.rule_errors
    }

    /// Every compiled pattern as `(detector id, regular expression)`, in compilation order;
    /// keyword rules are listed with their keywords joined by `|`. For comparisons with other
    /// engines and for inspection.
    pub fn pattern_sources(&self) -> Vec<(String, String)> {
        self.patterns
            .iter()
            .map(|p| {
                let source = if p.regex.is_some() {
                    p.source.clone()
                } else {
                    p.keywords.join("|")
                };
                (p.id.to_string(), source)
            })
            .collect()
    }

    /// How the patterns are triggered, for people tuning rule sets: counts per kind of
    /// trigger, and the ids of the patterns that run over the whole text (no usable literal).
    pub fn plan(&self) -> String {
        let full: Vec<&str> = self
            .full_scans
            .iter()
            .map(|&p| &*self.patterns[p].id)
            .collect();
        format!(
            "{} patterns: {} literal keys in the first pass, {} on runs of token bytes, {} on \
             digit runs, {} on country codes, {} around @, {} over the whole text{}{}",
            self.patterns.len(),
            self.literals.as_ref().map_or(0, Prefilter::keys),
            self.class_runs.len(),
            self.digit_runs.len(),
            self.country_codes.len(),
            self.at_signs.len(),
            full.len(),
            if full.is_empty() { "" } else { ": " },
            full.join(", ")
        )
    }

    /// The detectors this engine runs, one entry per id.
    pub fn detectors(&self) -> &[DetectorInfo] {
        &self.detectors
    }

    /// A scanner: per-thread scratch space for scanning with this engine. Make one per thread
    /// and reuse it.
    pub fn scanner(&self) -> Scanner<'_> {
        Scanner::new(self)
    }

    /// Scans a string and returns its findings in order of position.
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        self.scan_bytes(text.as_bytes())
    }

    /// Scans bytes as text (UTF-8 expected, other bytes tolerated) and returns the findings in
    /// order of position.
    pub fn scan_bytes(&self, data: &[u8]) -> Vec<Finding> {
        self.scanner().scan(data)
    }

    /// Scans one large item with up to `threads` threads: the item is split into chunks that
    /// the threads take in turn, each with its own scanner. The findings are those of
    /// [`Engine::scan_bytes`], in the same order.
    pub fn scan_parallel(&self, data: &[u8], threads: usize) -> Vec<Finding> {
        let chunk = crate::scan::DEFAULT_CHUNK_SIZE;
        if threads <= 1 || data.len() <= chunk {
            return self.scan_bytes(data);
        }
        self.scan_chunks_parallel(data.len(), threads, &|scanner, owned| {
            Ok(scanner.scan_chunk(data, owned))
        })
        .unwrap_or_default()
    }

    /// Scans a file with up to `threads` threads, each reading its own chunks (with their
    /// overlap) by positioned reads: memory stays at a few chunks per thread, however large the
    /// file. The findings are those of a serial scan.
    pub fn scan_file_parallel(
        &self,
        file: &std::fs::File,
        threads: usize,
    ) -> Result<Vec<Finding>, Error> {
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot stat the file", e))?
            .len() as usize;
        self.scan_chunks_parallel(len, threads.max(1), &|scanner, owned| {
            read_and_scan_chunk(file, len, scanner, owned)
        })
    }

    /// Scans a file like [`Engine::scan_file_parallel`], but gives the findings to `sink` in
    /// batches as soon as they are final, so that memory stays bounded however many findings
    /// the file holds. Findings come in order of position, except those of rules with a
    /// `min_count`, which are held until the rule reaches it (those that never do are dropped),
    /// as [`Scanner::scan_with`] gives them. Returns the number of bytes scanned.
    pub fn scan_file_streaming(
        &self,
        file: &std::fs::File,
        threads: usize,
        sink: &mut dyn FnMut(Vec<Finding>),
    ) -> Result<u64, Error> {
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot stat the file", e))?
            .len() as usize;
        let chunks = len.div_ceil(crate::scan::DEFAULT_CHUNK_SIZE).max(1);
        let threads = threads.max(1);
        // Chunks are scanned a wave at a time: the findings waiting to be given out are those
        // of one wave at most.
        let wave = 2 * threads;
        let mut scanners: Vec<Scanner<'_>> =
            (0..threads.min(chunks)).map(|_| self.scanner()).collect();
        let mut lines_before = 0u64;
        let mut gate = crate::scan::MinCountGate::new(self.patterns.len());
        let index: std::collections::HashMap<&str, usize> = self
            .patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| p.min_count > 1)
            .map(|(i, p)| (&*p.id, i))
            .collect();
        let mut first = 0;
        while first < chunks {
            let last = chunks.min(first + wave);
            let parts =
                self.scan_chunk_range(&mut scanners, len, first..last, &|scanner, owned| {
                    read_and_scan_chunk(file, len, scanner, owned)
                })?;
            for (_, part, lines) in parts {
                let mut out = Vec::with_capacity(part.len());
                for mut f in part {
                    f.line += lines_before;
                    match index.get(f.detector.as_str()) {
                        None => out.push(f),
                        Some(&p) => {
                            gate.offer(p, self.patterns[p].min_count, f, &mut |f| out.push(f))
                        }
                    }
                }
                lines_before += lines;
                if !out.is_empty() {
                    sink(out);
                }
            }
            first = last;
        }
        Ok(len as u64)
    }

    /// Runs `scan_chunk` over every chunk of an item of `len` bytes on `threads` threads, then
    /// puts the findings in order, numbers their lines and applies `min_count`.
    fn scan_chunks_parallel(
        &self,
        len: usize,
        threads: usize,
        scan_chunk: &ChunkScan<'_>,
    ) -> Result<Vec<Finding>, Error> {
        let chunks = len.div_ceil(crate::scan::DEFAULT_CHUNK_SIZE).max(1);
        let mut scanners: Vec<Scanner<'_>> =
            (0..threads.min(chunks)).map(|_| self.scanner()).collect();
        let parts = self.scan_chunk_range(&mut scanners, len, 0..chunks, scan_chunk)?;
        let mut findings = Vec::new();
        let mut lines_before = 0u64;
        for (_, part, lines) in parts {
            findings.extend(part.into_iter().map(|mut f| {
                f.line += lines_before;
                f
            }));
            lines_before += lines;
        }
        self.apply_min_count(&mut findings);
        Ok(findings)
    }

    /// Scans the chunks `range` of an item of `len` bytes, one thread per scanner, and returns
    /// their findings (lines counted from each chunk's start) and line counts, by chunk.
    fn scan_chunk_range(
        &self,
        scanners: &mut [Scanner<'_>],
        len: usize,
        range: std::ops::Range<usize>,
        scan_chunk: &ChunkScan<'_>,
    ) -> Result<Vec<ChunkPart>, Error> {
        let chunk = crate::scan::DEFAULT_CHUNK_SIZE;
        let owned = |i: usize| i * chunk..len.min((i + 1) * chunk);
        let next = std::sync::atomic::AtomicUsize::new(range.start);
        let results: Vec<Result<Vec<ChunkPart>, Error>> = std::thread::scope(|scope| {
            let workers: Vec<_> = scanners
                .iter_mut()
                .map(|scanner| {
                    let (next, owned) = (&next, &owned);
                    let end = range.end;
                    scope.spawn(move || {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= end {
                                return Ok(mine);
                            }
                            let (findings, lines) = scan_chunk(scanner, owned(i))?;
                            mine.push((i, findings, lines));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(Error::new(ErrorKind::Io, "a scanning thread failed"))
                    })
                })
                .collect()
        });
        let mut parts = Vec::with_capacity(range.len());
        for r in results {
            parts.extend(r?);
        }
        parts.sort_unstable_by_key(|(i, _, _)| *i);
        Ok(parts)
    }

    /// Drops the findings of patterns with a `min_count` that the item does not reach.
    fn apply_min_count(&self, findings: &mut Vec<Finding>) {
        if !self.has_min_count {
            return;
        }
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for f in findings.iter() {
            *counts.entry(f.detector.as_str()).or_default() += 1;
        }
        let short: Vec<String> = self
            .patterns
            .iter()
            .filter(|p| p.min_count > 1 && counts.get(&*p.id).copied().unwrap_or(0) < p.min_count)
            .map(|p| p.id.to_string())
            .collect();
        findings.retain(|f| !short.contains(&f.detector));
    }

    /// Scans a file's bytes as text, reading it through a memory map.
    pub fn scan_path(&self, path: impl AsRef<Path>) -> Result<Vec<Finding>, Error> {
        let path = path.as_ref();
        let mut findings = Vec::new();
        self.scanner().scan_path(path, &mut |f| findings.push(f))?;
        Ok(findings)
    }
}

/// The findings of one chunk (lines counted from its start) and its line count, by index.
type ChunkPart = (usize, Vec<Finding>, u64);

/// Scans the chunk that owns a range of an item, with its overlap.
type ChunkScan<'a> = dyn Fn(&mut Scanner<'_>, std::ops::Range<usize>) -> Result<(Vec<Finding>, u64), Error>
    + Sync
    + 'a;

/// Reads the chunk `owned` of a file of `len` bytes, with its overlap, by a positioned read,
/// and scans it.
fn read_and_scan_chunk(
    file: &std::fs::File,
    len: usize,
    scanner: &mut Scanner<'_>,
    owned: std::ops::Range<usize>,
) -> Result<(Vec<Finding>, u64), Error> {
    use std::os::unix::fs::FileExt;
    let overlap = crate::scan::OVERLAP;
    let base = owned.start.saturating_sub(overlap);
    let end = len.min(owned.end + overlap);
    let mut buf = vec![0u8; end - base];
    file.read_exact_at(&mut buf, base as u64)
        .map_err(|e| Error::io("cannot read the file", e))?;
    Ok(scanner.scan_chunk_window(&buf, base, owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Engine>();
        assert::<EngineBuilder>();
        assert::<Error>();
    }

    #[test]
    fn builtin_examples() {
        let engine = EngineBuilder::new().build().unwrap();
        let defs = rules::builtin().unwrap();
        let mut failures = Vec::new();
        for def in &defs {
            assert!(
                !def.examples.is_empty() && !def.negatives.is_empty(),
                "{} needs examples and negatives",
                def.id
            );
            if let Some(problem) = example_problem(&engine, def) {
                failures.push(format!("{}: {problem}", def.id));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        for id in [
            "credit_card",
            "us_ssn",
            "iban",
            "email",
            "aws_access_key_id",
            "github_token",
            "openai_api_key",
            "slack_token",
            "stripe_secret_key",
            "google_api_key",
            "private_key",
            "jwt",
        ] {
            assert!(engine.detectors().iter().any(|d| d.id == id), "{id}");
        }
    }

    #[test]
    fn unknown_detector_is_an_error() {
        let err = EngineBuilder::new()
            .detectors(["credit_card", "nope"])
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownDetector);
        assert!(err.to_string().contains("nope"));
        assert!(err.to_string().contains("known: credit_card"));
    }
}
