"""Wording shared by every domain: sentence frames, authority cues, filler, captions.

Authority is carried by wording only. A statement is *provisional* when its sentence holds a
word from `PROVISIONAL_CUES` (preliminary, interim, estimated, uncorrected, early-timepoint...)
and *authoritative* when it holds one from `AUTHORITATIVE_CUES` (confirmed, final, validated,
corrected, erratum...). Cue frames are used on trapped facts and, just as often, on facts with
no conflict at all, so a cue word alone tells nothing; only when two values conflict does the
authoritative wording decide. Neutral frames and filler must hold no cue word (tested).

Frames with `_AFTER` only make sense after the conflicting statement ("corrected", "erratum");
frames with `_BEFORE` only before it ("later superseded"). The generator picks the frame after
it has placed the statements, so order is random and the wording stays truthful.
"""

from __future__ import annotations

import re

PROVISIONAL_CUES = (
    "preliminary", "interim", "estimated", "uncorrected", "early-timepoint", "initial", "initially",
    "provisional", "provisionally", "unverified", "first-pass", "tentative", "superseded", "pre-calibration",
)  # fmt: skip
AUTHORITATIVE_CUES = (
    "confirmed", "final", "validated", "corrected", "erratum", "verified", "definitive", "revised",
    "audited", "steady-state", "steady state", "correction", "validation",
)  # fmt: skip

PROVISIONAL_RE = re.compile(r"\b(" + "|".join(re.escape(c) for c in PROVISIONAL_CUES) + r")\b", re.IGNORECASE)
AUTHORITATIVE_RE = re.compile(r"\b(" + "|".join(re.escape(c) for c in AUTHORITATIVE_CUES) + r")\b", re.IGNORECASE)

# --- numeric facts: noun phrases and the sentences that carry them --------------------------

# Generic noun phrases every numeric attribute can use ({a} is the label's article).
NUMERIC_PHRASES = (
    "{a} {label} of {V}",
    "{a} measured {label} of {V}",
    "{a} {label} equal to {V}",
    "{a} {label} that came to {V}",
)

# A sentence naming the entity, then one, two or three noun phrases.
NEUTRAL_ONE = (
    "{E} showed {P1}.",
    "{E} had {P1}.",
    "For {E} we recorded {P1}.",
    "Measurements of {E} gave {P1}.",
    "{E} was characterised by {P1}.",
)
NEUTRAL_TWO = (
    "{E} showed {P1} and {P2}.",
    "Measurements of {E} gave {P1}, together with {P2}.",
    "For {E} we recorded {P1} and {P2}.",
)
NEUTRAL_THREE = (
    "{E} had {P1}, {P2} and {P3}.",
    "Measurements of {E} gave {P1}, {P2} and {P3}.",
)
# Sentences that continue the paragraph's subject without naming it.
CONTINUATION = (
    "It also showed {P1}.",
    "The same {kind} had {P1}.",
    "Its record further lists {P1}.",
    "In addition it reached {P1}.",
)

PROVISIONAL_NUMERIC = (
    "A preliminary analysis gave {E} {P1}.",
    "Interim figures put {E} at {P1}.",
    "Early-timepoint readings gave {E} {P1}.",
    "Uncorrected data show {E} with {P1}.",
    "A first-pass reduction gave {E} {P1}.",
    "{E} was initially estimated to have {P1}.",
)
PROVISIONAL_NUMERIC_BEFORE = (
    "An interim report gave {E} {P1}, a figure later superseded.",
    "Provisionally, {E} was listed with {P1} before the full analysis.",
)
AUTHORITATIVE_NUMERIC = (
    "The final analysis gives {E} {P1}.",
    "After full validation, {E} showed {P1}.",
    "Confirmed measurements give {E} {P1}.",
    "The audited record lists {E} with {P1}.",
    "In the definitive data set, {E} has {P1}.",
)
AUTHORITATIVE_NUMERIC_AFTER = (
    "After correction, {E} shows {P1}.",
    "Corrected data give {E} {P1}.",
    "Erratum: {E} has {P1}; the value printed earlier should be disregarded.",
    "The revised analysis gives {E} {P1}.",
)

# --- categorical facts with a cue ({L} is the attribute label) ------------------------------

PROVISIONAL_CATEGORICAL = (
    "A preliminary logbook entry gives the {L} of {E} as {V}.",
    "An interim record lists the {L} of {E} as {V}.",
    "The {L} of {E} was initially logged as {V}.",
)
PROVISIONAL_CATEGORICAL_BEFORE = ("An interim record gave the {L} of {E} as {V}, an entry later superseded.",)
AUTHORITATIVE_CATEGORICAL = (
    "The verified record gives the {L} of {E} as {V}.",
    "The final inventory lists the {L} of {E} as {V}.",
    "Confirmed: the {L} of {E} is {V}.",
)
AUTHORITATIVE_CATEGORICAL_AFTER = (
    "Corrected records give the {L} of {E} as {V}.",
    "Erratum: the {L} of {E} is {V}, not the entry printed earlier.",
)

# --- document scaffolding --------------------------------------------------------------------

ENTITY_LIST = (
    "The {n} {kinds} compared in this work are {LIST}.",
    "We studied {n} {kinds}: {LIST}.",
    "This report covers {n} {kinds}, namely {LIST}.",
)

TABLE_CAPTIONS = (
    "Table {id}. {Labels} for each {kind}.",
    "Table {id}. Further characteristics of the {kinds} studied: {labels}.",
    "Table {id}. Per-{kind} summary of {labels}.",
)

ABSTRACT_OPENERS = (
    "We compare {n} {kinds} in {field} under one protocol and report their {labels}.",
    "This study characterises {n} {kinds} used in {field}, with attention to {labels}.",
    "We present a side-by-side evaluation of {n} {kinds} from {field}, covering {labels}.",
)
ABSTRACT_CLOSERS = (
    "The differences between {kinds} are large enough to matter for the choice of one over another.",
    "Every quantity is reported per {kind}, so readers can compare them directly.",
    "Most of the spread between {kinds} traces back to a small number of design choices.",
)

# Generic filler about the study; {kind}, {kinds}, {field}, {la}, {lb} are filled per document.
GENERIC_FILLER = (
    "We report every {kind} with the same set of quantities so that comparisons across the study are direct.",
    "Differences in {la} between {kinds} are often larger than differences in {lb}, which is why both are reported.",
    "No {kind} was dropped from the comparison once the analysis plan had been fixed.",
    "The order in which {kinds} are discussed below carries no meaning; it follows the order of the laboratory notebook.",
    "Quantities are given with the precision we consider meaningful for each measurement.",
    "Where a {kind} is compared with another, both were handled by the same people with the same tools.",
    "Our aim is a comparison that other groups in {field} can repeat without access to our equipment.",
    "Relations between {kinds} are stated explicitly wherever one served as the reference for another.",
    "{La} and {lb} respond to different parts of the procedure, so they need not move together.",
    "A larger survey would be needed to say how typical these {kinds} are of {field} as a whole.",
    "We avoid ranking the {kinds} on a single score, because the relevant quantity depends on the application.",
    "Several quantities are collected in tables rather than in the text, to keep the prose readable.",
    "The protocol was written before the first {kind} was examined and was not changed afterwards.",
    "Readers interested in {la} should also look at {lb}, since the two trade off against each other in practice.",
    "The comparison is limited to the {kinds} listed in the methods; no external values are mixed in.",
    "Each {kind} was examined over several sessions, and the sessions were interleaved across {kinds}.",
    "We have tried to state every quantity once in the place where a reader would look for it.",
    "Nothing in the analysis depends on the names given to the {kinds}, which are labels only.",
    "The same analysis code processed every {kind}, and it was frozen before the comparison began.",
    "Sessions were scheduled so that no {kind} was always examined at the same time of day.",
    "Any quantity that could not be measured under the common protocol is left out rather than taken from elsewhere.",
    "The spread of {la} across the {kinds} is wide enough that ordinary session-to-session variation does not change their order.",
    "Each record was checked against the laboratory notebook by a second person before it entered the tables.",
    "We give values in the units most common in {field}, so that they can be compared with earlier reports.",
    "Small differences in {lb} should not be over-read: the measurement resolves them, but their practical effect may be minor.",
    "The {kinds} were not chosen to be representative; they are the ones available to us during the campaign.",
    "Where two {kinds} share a property, that is noted because it allows direct comparisons within the group.",
    "A reader who needs a single recommendation should first decide which of {la} and {lb} matters more for the task.",
    "Several earlier studies in {field} reported only one or two of these quantities for each {kind}.",
    "The calibration of the equipment was checked at the start and end of every session.",
    "None of the authors has a stake in any of the {kinds} compared here.",
    "Environmental conditions were logged continuously, and sessions outside the agreed conditions were repeated.",
    "The study was designed so that each {kind} could be compared with every other one on equal terms.",
    "Some properties are reported in the methods because they describe how a {kind} was set up rather than how it performed.",
    "Our tables list the {kinds} in an arbitrary order; readers should not infer a ranking from it.",
    "The numbers reported here describe these particular {kinds}, not the designs they belong to.",
    "We expect {la} to matter most in practice, although {lb} can be decisive in particular settings.",
    "Data handling followed a written plan that fixed which quantities would be reported.",
    "Further work could extend the comparison to conditions outside the range covered here.",
    "All raw records are kept, so that any number in this report can be traced back to its session.",
    "We have not adjusted any value for factors outside the protocol described in the methods.",
    "Each {kind} is identified by the same label in the text, the tables and the supplementary material.",
    "The number of {kinds} is small, so the comparison describes them rather than the population they come from.",
    "Because {la} is hard to measure well, we spent more time on it than on any other quantity.",
    "A difference that looks large in {lb} may be small compared with the spread seen in other studies of {field}.",
    "We describe the setup in enough detail for the measurements to be repeated elsewhere.",
    "Where the literature disagrees about how to measure {la}, we follow the most common practice in {field}.",
    "Some {kinds} are linked to others, and those links are stated where the {kinds} are introduced.",
    "We did not tune the procedure for any particular {kind}; all were treated alike.",
    "The values in this report are the ones used in every comparison that follows.",
    "The study has no sponsor with an interest in the outcome.",
    "Operators recorded every deviation from the protocol in a shared log, and none affected the reported quantities.",
    "Comparisons between {kinds} are made only for quantities measured in the same way.",
    "A quantity reported in a table carries the same weight as one reported in the text.",
    "We list every {kind} we examined, including those that performed poorly.",
    "Practical choices between {kinds} involve cost and availability as well as the quantities reported here.",
    "Interest in {la} has grown in {field} over the last decade.",
    "Rather than combine quantities into an index, we report each separately.",
    "Session logs were reviewed weekly to catch problems early.",
    "Readers comparing these numbers with other work should check that {lb} was defined the same way.",
    "The dataset behind this report is organised by {kind}, with one folder per session.",
    "No outliers were removed from the data; every session contributes to the reported values.",
    "Each section below can be read on its own, with cross-references where quantities depend on each other.",
    "Our procedures follow common practice in {field} except where stated.",
    "A second team repeated a subset of the measurements and found the same ordering of {kinds}.",
    "Where relationships between {kinds} exist, they are part of the study design rather than accidents of supply.",
)

# Remarks about one entity, used beside its facts; {E} is its name. No values, no cue words.
GENERIC_COMMENTARY = (
    "{E} behaved consistently from one session to the next.",
    "No repair or replacement was needed for {E} during the study.",
    "{E} was handled by the same two operators throughout.",
    "The records for {E} are complete for every session of the campaign.",
    "Nothing unusual was noted in the logbook for {E}.",
    "{E} was examined in every scheduled session, without gaps.",
    "The raw records of {E} were read by a second analyst.",
    "{E} needed more setup time than most other {kinds}.",
    "The documentation supplied with {E} matched what we found on inspection.",
    "{E} was available for the whole campaign, which made repeated sessions easy to schedule.",
)

SUPPLEMENT_INTRO = (
    "This section collects quantities that support the main text, {kind} by {kind}.",
    "The tables below complete the characterisation of each {kind} described in the methods.",
)


def article(word: str) -> str:
    """'an' before a vowel sound at the start of `word`, else 'a' (good enough for labels)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def has_cue(text: str) -> bool:
    return bool(PROVISIONAL_RE.search(text) or AUTHORITATIVE_RE.search(text))
