"""What a pasted shell session is about: what it printed, not what was typed,
and the error texts it quotes.

Operators paste the command they ran with the error it gave
("root@node1:~# gnt-instance add ... Failure: prerequisites not met ...").
The runbook that explains the error quotes the error; many pages quote the
command. The sentence-embedding model reads a question whole, and a long
command line (options, sizes, host names) pulls its meaning towards every
page that shows the command, so the model is given what the session printed.
A command runs from its prompt to the first word that starts with a capital
letter (error and log texts do; commands, options and host names seldom),
or to the next prompt.
"""

from __future__ import annotations

import itertools
import re

from bot.knowledge.analysis import words
from bot.knowledge.blocks import HOST_PROMPT

_PROMPT = re.compile(rf"(?:^|(?<=\s)){HOST_PROMPT}\s+")
_PRINTED = re.compile(r"(?<=\s)[A-Z]")
# How a program starts an error message, as opposed to an operator's words
# about one ("the migration failed yesterday", "Unable to start it, why?"): an
# upper-case level or a capitalised word before a colon ("ERROR:", "Failure:"),
# or a capitalised phrase where a program's message starts, after a colon, an
# arrow or a bracket ("...: Could not open", "-> Cannot communicate").
_ERROR = re.compile(r"\b(?:ERROR|WARNING|FAILED|FATAL|Error|Failure|Failed|Warning):"
                    r"|(?<=[:>\]]\s)(?:Cannot|Could not|Unable to|Failed to|Unhandled)\b")
# Where an operator's remark starts after a paste: a question mark, " -- ", " <-".
_REMARK = re.compile(r"\?|\s--?\s|\s<-")
ERROR_WORDS = 6  # words of an error text, at least: fewer are a remark, not a quoted message
ERROR_TEXTS = 4  # error texts read from one question, the first ones
ERROR_MARKERS = 16  # markers looked at in one question, the first ones
ERROR_CHARACTERS = 600  # of one error text at most: a message, not a whole session


def printed(question: str) -> str:
    """``question`` without the prompts and commands of a pasted session; the
    question itself when it pastes no session, or nothing but commands."""
    kept: list[str] = []
    end = 0
    for prompt in _PROMPT.finditer(question):
        if prompt.start() < end:
            continue  # a prompt inside the command before it
        kept.append(question[end : prompt.start()])
        following = _PROMPT.search(question, prompt.end())
        stop = following.start() if following else len(question)
        output = _PRINTED.search(question, prompt.end(), stop)
        end = output.start() if output else stop
    kept.append(question[end:])
    text = " ".join(" ".join(kept).split())
    return text or question


def plain_words(text: str) -> tuple[str, ...]:
    """The lower-cased words of ``text`` made of letters only: numbers, host
    names, paths and IDs left out, since they differ from one paste to the next."""
    return tuple(word for word in words(text) if word.isalpha())


def error_texts(question: str) -> list[tuple[str, ...]]:
    """The error texts ``question`` quotes, as `plain_words`: each runs from an
    error marker to where a remark starts (a chained message, "Failure: ...:
    Could not ...", is one text) and counts when it has at least `ERROR_WORDS`
    words; the next one starts at the first marker after it."""
    texts: list[tuple[str, ...]] = []
    end = 0
    for marker in itertools.islice(_ERROR.finditer(question), ERROR_MARKERS):
        if marker.start() < end:
            continue  # part of the text before
        limit = marker.start() + ERROR_CHARACTERS
        remark = _REMARK.search(question, marker.start(), limit)
        end = remark.start() if remark else limit
        plain = plain_words(question[marker.start() : end])
        if len(plain) >= ERROR_WORDS:
            texts.append(plain)
            if len(texts) == ERROR_TEXTS:
                break
    return texts
