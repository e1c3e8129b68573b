"""What a pasted shell session is about: what it printed, not what was typed.

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

import re

from bot.knowledge.blocks import HOST_PROMPT

_PROMPT = re.compile(rf"(?:^|(?<=\s)){HOST_PROMPT}\s+")
_PRINTED = re.compile(r"(?<=\s)[A-Z]")


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
