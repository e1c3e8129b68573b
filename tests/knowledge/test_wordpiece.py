"""The tokenizer the semantic extra feeds the model, from the shipped vocabulary alone.

Its output was checked once against Hugging Face `tokenizers` with the model's own
``tokenizer.json`` (3,973 texts of the runbooks, the corpus and the questions,
identical ids; see bot/knowledge/data/README.md). These tests hold the rules that
make it so, as an operator's text exercises them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.wordpiece import VOCABULARY, VocabularyError, WordPiece


@pytest.fixture(scope="module")
def tokenizer() -> WordPiece:
    return WordPiece()


def pieces(tokenizer: WordPiece, text: str, max_tokens: int = 64) -> list[str]:
    names = {number: piece for piece, number in tokenizer.ids.items()}
    return [names[number] for number in tokenizer.encode(text, max_tokens)]


def test_text_is_framed_lower_cased_and_split_around_punctuation(tokenizer):
    assert pieces(tokenizer, "Migrate the INSTANCE, then stop!") == [
        "[CLS]", "migrate", "the", "instance", ",", "then", "stop", "!", "[SEP]"]


def test_unknown_words_are_cut_into_the_longest_known_pieces(tokenizer):
    for word in ("hbal", "reboot", "drbdsetup"):
        found = pieces(tokenizer, word)[1:-1]
        assert len(found) > 1 and found[0] == word[: len(found[0])]
        assert all(piece.startswith("##") for piece in found[1:])
        assert "".join(piece.removeprefix("##") for piece in found) == word
        # greedy: no longer prefix of what is left is in the vocabulary
        rest = word
        for piece in found:
            piece = piece.removeprefix("##")
            prefix = "" if rest == word else "##"
            assert not any(prefix + rest[:end] in tokenizer.ids for end in range(len(piece) + 1, len(rest) + 1))
            rest = rest[len(piece):]


def test_accents_case_and_control_characters_do_not_change_the_ids(tokenizer):
    assert tokenizer.encode("Café NAÏVE", 16) == tokenizer.encode("cafe naive", 16)
    assert tokenizer.encode("node\x00\u200b failure", 16) == tokenizer.encode("node failure", 16)


def test_a_word_with_a_piece_nobody_knows_is_one_unknown_token(tokenizer):
    assert pieces(tokenizer, "disk \u2603\u2603 full")[2] == "[UNK]"
    assert pieces(tokenizer, "x" * 150) == ["[CLS]", "[UNK]", "[SEP]"]


def test_long_texts_are_cut_to_the_model_length_and_still_closed(tokenizer):
    ids = tokenizer.encode("rebalance the cluster " * 500, 256)
    assert len(ids) == 256 and ids[0] == tokenizer.first and ids[-1] == tokenizer.last


def test_an_altered_vocabulary_is_refused(tmp_path: Path):
    altered = tmp_path / "vocab.txt"
    altered.write_bytes(VOCABULARY.read_bytes().replace(b"\ninstance\n", b"\ninstanse\n"))
    with pytest.raises(VocabularyError, match="SHA-256"):
        WordPiece(altered)
    with pytest.raises(VocabularyError, match="cannot read"):
        WordPiece(tmp_path / "absent.txt")
