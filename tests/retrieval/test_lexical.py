import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semantic_match import normalize_text
from semantic_match.retrieval.lexical import STOPWORDS, LexicalIndex, tokenize

DOCS = [
    "Mesin perontok padi (thresher) elektrik",
    "Mesin perontok padi (thresher) bukan elektrik",
    "Kertas HVS A4 70 gr",
    "Tinta printer hitam",
    "Kopi bubuk robusta",
    "Perontok rambut",
]


@pytest.fixture
def texts():
    return [normalize_text(d) for d in DOCS]


@pytest.fixture
def lex(texts):
    return LexicalIndex().fit(texts)


def test_tokenize_drops_stopwords_and_keeps_numbers():
    assert tokenize("pengadaan kertas hvs untuk kantor 70 gram dan 2,5 mm") == [
        "kertas",
        "hvs",
        "kantor",
        "70",
        "gram",
        "2,5",
        "mm",
    ]
    assert "yang" in STOPWORDS and "padi" not in STOPWORDS


def test_stemming_reduces_affixes():
    assert tokenize("merontokkan", stem=True) == ["rontok"]
    assert tokenize("perontok padi", stem=False) == ["perontok", "padi"]


def test_char_channel_ranks_affixed_and_glued_forms(lex):
    scores = lex.char_scores([normalize_text("alat perontokan padi")]).toarray()[0]
    assert np.argmax(scores) in (0, 1)
    assert scores.shape == (len(DOCS),) and scores.max() <= 1.0 + 1e-6


def test_bm25_matches_brute_force(lex):
    q = normalize_text("tinta printer")
    got = lex.bm25_scores([q]).toarray()[0]
    docs = [tokenize(normalize_text(d)) for d in DOCS]
    n, avg = len(docs), np.mean([len(d) for d in docs])
    expected = np.zeros(n)
    for t in ["tinta", "printer"]:
        df = sum(t in d for d in docs)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = d.count(t)
            expected[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(d) / avg))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    bound = lex.bm25_upper_bounds([q])[0]
    assert got.max() < bound  # normalised BM25 stays below 1


def test_repeated_query_terms_count_once(lex):
    a = lex.bm25_scores(["kopi"]).toarray()
    b = lex.bm25_scores(["kopi kopi kopi"]).toarray()
    np.testing.assert_allclose(a, b)


def test_matched_terms(lex):
    terms = lex.matched_terms("mesin perontok jagung", [normalize_text(d) for d in DOCS[:3]])
    assert terms == [["mesin", "perontok"], ["mesin", "perontok"], []]


def test_counts_and_statistics_alone_reproduce_every_score(lex):
    """What an index folder stores (raw counts + corpus statistics) gives back the same scores."""
    again = LexicalIndex.from_settings(lex.settings()).set_counts(
        lex.stats_.copy(), lex.char_counts_.copy(), lex.bm25_counts_.copy()
    )
    qs = [normalize_text(q) for q in ["kertas a4", "perontok padi listrik", "xyz"]]
    np.testing.assert_allclose(again.char_scores(qs).toarray(), lex.char_scores(qs).toarray())
    np.testing.assert_allclose(again.bm25_scores(qs).toarray(), lex.bm25_scores(qs).toarray())


def test_char_channel_equals_scikit_learn_tfidf(lex, texts):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=False, dtype=np.float32)
    docs = vec.fit_transform(texts)
    qs = [normalize_text(q) for q in ["kertas a4", "perontok padi listrik", "xyz", "mesin"]]
    np.testing.assert_allclose(lex.char_scores(qs).toarray(), (vec.transform(qs) @ docs.T).toarray(), atol=1e-6)


def test_statistics_follow_removals_exactly(texts):
    """Removing items from the statistics equals never having counted them (idf, vocabulary, BM25)."""
    full = LexicalIndex().fit(texts)
    keep = [t for i, t in enumerate(texts) if i % 3]
    gone = [i for i in range(len(texts)) if not i % 3]
    stats = full.stats_.copy()
    stats.remove(full.char_counts_[gone], full.bm25_counts_[gone])
    rows = [i for i in range(len(texts)) if i % 3]
    after = LexicalIndex().set_counts(stats, full.char_counts_[rows], full.bm25_counts_[rows])
    fresh = LexicalIndex().fit(keep)
    qs = [normalize_text(q) for q in ["kertas a4", "perontok padi listrik", "kopi", texts[0]]]
    np.testing.assert_allclose(after.char_scores(qs).toarray(), fresh.char_scores(qs).toarray(), atol=1e-6)
    np.testing.assert_allclose(after.bm25_scores(qs).toarray(), fresh.bm25_scores(qs).toarray(), rtol=1e-5, atol=1e-6)
    assert after.query_terms(texts[0]) == fresh.query_terms(texts[0])


def test_unfitted_index_raises():
    from semantic_match import NotBuiltError

    with pytest.raises(NotBuiltError, match="not fitted"):
        LexicalIndex().char_scores(["x"])


def test_coverage_ignores_document_length():
    short = normalize_text("Kopi bubuk robusta")
    long = normalize_text(
        "Kopi bubuk robusta Lampung Barat kemasan standing pouch 250 gram, sangrai medium, "
        "cocok untuk jamuan rapat dan oleh-oleh"
    )
    other = normalize_text("Keripik pisang coklat")
    lex = LexicalIndex().fit([short, long, other])
    q = [normalize_text("kopi bubuk robusta")]
    cov = lex.coverage(q, np.array([[0, 1, 2]]))
    cos = lex.char_scores(q).toarray()[0]
    assert cov["char_cov"][0, 0] == pytest.approx(1.0, abs=1e-5)
    assert cov["char_cov"][0, 1] == pytest.approx(1.0, abs=1e-5)  # all of the need is in the long text
    assert cos[1] < cos[0]  # while the cosine penalises the long text
    np.testing.assert_allclose(cov["term_cov"][0, :2], [1.0, 1.0])
    assert cov["term_cov"][0, 2] == 0.0 and cov["char_cov"][0, 2] < 0.3
    assert np.isnan(lex.coverage(q, np.array([[-1]]))["char_cov"][0, 0])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
        min_size=1,
        max_size=6,
    )
)
def test_vectorised_char_counts_equal_scikit_learns_analyzer(texts):
    """The fast query-time n-gram counter gives exactly the char_wb analyzer's counts."""
    from collections import Counter

    from sklearn.feature_extraction.text import CountVectorizer

    from semantic_match.retrieval.lexical import Vocabulary, count_char_ngrams

    texts = [normalize_text(t) for t in texts]
    analyzer = CountVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=False).build_analyzer()
    vocab = Vocabulary()
    grown = count_char_ngrams(texts, vocab, (2, 4), grow=True)
    again = count_char_ngrams(texts, vocab, (2, 4), grow=False)
    assert (grown != again).nnz == 0
    for i, text in enumerate(texts):
        row = grown[i]
        got = {vocab.terms[j]: int(c) for j, c in zip(row.indices, row.data)}
        assert got == dict(Counter(analyzer(text)))
