"""The ``role`` mind: a team member who speaks in phases as their role, and remembers each phase.

It makes no decision of its own: the team's chain (``sim/teams/chain.py``) asks it for each of
its replies. Its prompt is the role's prompt, then what it recalls from earlier phases (the
memory stream of ``agents/memory.py``, ranked by the paper's retrieval rule), then who is who in
the phase; the conversation so far follows as chat messages, its own lines as the assistant's.
A memory is written when a phase it took part in ends; its importance is fixed (no LLM call).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from agents.embeddings import Embedder, shared_embedder
from agents.memory import Memory, MemoryStream, Weights
from sim.core.events import Event
from sim.core.mind import Decision, Line, MindContext, Percept
from sim.llm.gateway import CallSite
from sim.runfile.log import dumps
from sim.teams.schema import PhaseSpec, RoleSpec, fill
from sim.worldfile.scenario import PersonSpec
from sim.worldfile.spec import ModelSettings

DEFAULTS: dict[str, Any] = {
    "memory": True,  # ablation switch: recall earlier phases in each reply
    "top_k": 3,  # memories recalled per reply
    "importance": 5,  # of a phase's memory, 1-10 (fixed: scoring it would cost a call)
    "embeddings": None,  # None: WordLlama; "hash"; or "URL/model" of an embeddings endpoint
}


def check_params(params: dict[str, Any]) -> None:
    """Refuse parameters no run could use."""
    merged = {**DEFAULTS, **params}
    if int(merged["top_k"]) < 1:
        raise ValueError(f"top_k must be at least 1 (got {merged['top_k']})")
    if not 1 <= float(merged["importance"]) <= 10:
        raise ValueError(f"importance must be between 1 and 10 (got {merged['importance']})")


class Answer(BaseModel):
    """A team member's answer to an interview question."""

    answer: str = Field(max_length=600)


class RoleMind:
    """A person who plays one or more of the team's roles."""

    def __init__(self, spec: PersonSpec, ctx: MindContext) -> None:
        self.spec, self.ctx = spec, ctx
        self.params = {**DEFAULTS, **ctx.params}
        self.embedder: Embedder = shared_embedder(self.params["embeddings"])
        team = ctx.scenario.team
        self.roles = {role.name: role for role in (team.roles if team else []) if role.player == spec.name}
        self.stream: MemoryStream | None = None
        # state saved in snapshots (the memories themselves are rows of the run file):
        self.next_id = 1
        self._accessed: dict[str, Any] = {}
        self._loaded = not ctx.recorded  # after a resume the stream is rebuilt from the rows on first use

    # -- the mind protocol ---------------------------------------------------------------

    async def decide(self, percept: Percept) -> Decision:
        """Nothing to do between phases: the chain calls on the person when a phase needs them."""
        return Decision()

    def notices(self, event: Event) -> bool:
        """Woken by nothing; phases come from the chain."""
        return False

    def state(self) -> dict[str, Any]:
        """The next memory id and the access times that changed."""
        return {"next_id": self.next_id, "stream": self.stream.state() if self.stream is not None else self._accessed}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved; the stream is rebuilt from the run file's rows when first needed."""
        self.next_id = int(state["next_id"])
        self._accessed = dict(state.get("stream", {}))
        self.stream, self._loaded = None, False

    # -- speaking in a phase -------------------------------------------------------------

    async def reply(
        self,
        role: str,
        phase: PhaseSpec,
        lines: list[Line],
        schema: type[BaseModel],
        fallback: BaseModel,
        values: dict[str, str],
        now: datetime,
    ) -> Any:
        """The next reply in ``phase`` as ``role``, given the lines said so far (the first is the task prompt)."""
        messages = await self._conversation(role, phase, lines, values, now)
        return await self._ask(role, schema, messages, phase.phase, fallback)

    async def needs(
        self,
        role: str,
        phase: PhaseSpec,
        lines: list[Line],
        schema: type[BaseModel],
        fallback: BaseModel,
        values: dict[str, str],
        now: datetime,
    ) -> Any:
        """Dehallucination's ask: the details the assistant lacks to answer the last line (perhaps none)."""
        instructor = phase.instructor
        note = Line(
            "Hamlet",
            f"Before you answer: which specific details do you need from the {instructor} "
            "that you do not have? Give them as short questions, or none if you have what you need.",
        )
        messages = await self._conversation(role, phase, [*lines, note], values, now)
        return await self._ask(role, schema, messages, f"{phase.phase} dehallucinate_ask", fallback)

    async def details(
        self,
        role: str,
        phase: PhaseSpec,
        lines: list[Line],
        schema: type[BaseModel],
        fallback: BaseModel,
        values: dict[str, str],
        now: datetime,
    ) -> Any:
        """Dehallucination's answer: the instructor supplies the details the assistant asked for (the last line)."""
        note = Line("Hamlet", f"Answer the {phase.assistant}'s questions with the specific details it asks for.")
        messages = await self._conversation(role, phase, [*lines, note], values, now)
        return await self._ask(role, schema, messages, f"{phase.phase} dehallucinate_answer", fallback)

    async def _conversation(
        self, role: str, phase: PhaseSpec, lines: list[Line], values: dict[str, str], now: datetime
    ) -> list[dict[str, str]]:
        """The system prompt, then the lines as chat messages (this person's own as the assistant's)."""
        system = await self._system(role, phase, values, lines[0].text if lines else phase.prompt, now)
        messages = [{"role": "system", "content": system}]
        messages += [
            {"role": "assistant" if line.speaker == self.spec.name else "user", "content": line.text} for line in lines
        ]
        return messages

    async def conclude(
        self,
        role: str,
        phase: PhaseSpec,
        lines: list[Line],
        schema: type[BaseModel],
        fallback: BaseModel,
        values: dict[str, str],
        now: datetime,
    ) -> Any:
        """The conclusion of a phase that ended without one: one more question, put to the instructor."""
        system = await self._system(role, phase, values, phase.prompt, now)
        transcript = "\n\n".join(f"{line.speaker}: {line.text}" for line in lines)
        options = f" Choose one of: {', '.join(phase.options)}." if phase.options else ""
        ask = (
            f"The phase {phase.phase} is over without a stated conclusion. "
            f"State the conclusion it reached, in a few words.{options}\n\n{transcript}"
        )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": ask}]
        return await self._ask(role, schema, messages, f"{phase.phase} conclusion", fallback)

    async def _system(self, role_name: str, phase: PhaseSpec, values: dict[str, str], query: str, now: datetime) -> str:
        role = self.roles[role_name]
        text = fill(role.prompt, {**values, "role": role.name}).strip() or f"You are the {role.name} of the team."
        side = "instruct" if role_name == phase.instructor else "assist"
        other = phase.assistant if side == "instruct" else phase.instructor
        text += (
            f"\n\nThis is the phase {phase.phase!r}: you ({role.name}) {side}, with the {other}. "
            "Set end to true when the phase's work is done."
        )
        # The memories retrieved for this phase last: the role and the phase repeat from call to call.
        recalled = await self.recall(query, self._second(now)) if self.params["memory"] else []
        if recalled:
            text += "\n\nWhat you remember from earlier phases:\n" + "\n".join(f"- {m.text}" for m in recalled)
        return text

    async def _ask(
        self, role_name: str, schema: type[BaseModel], messages: list[dict[str, str]], purpose: str, fallback: BaseModel
    ) -> Any:
        return await self.ctx.gateway.ask(
            schema,
            messages,
            site=CallSite(self.spec.name, purpose),
            fallback=fallback,
            settings=self._settings(self.roles.get(role_name)),
        )

    def _settings(self, role: RoleSpec | None) -> ModelSettings:
        settings: ModelSettings = self.ctx.scenario.model
        if self.spec.model is not None:
            settings = self.spec.model.over(settings)
        if role is not None and role.model is not None:
            settings = role.model.over(settings)
        return settings

    # -- memories ------------------------------------------------------------------------

    async def remember(self, text: str, now: datetime) -> None:
        """Keep ``text`` (what a phase came to) in the memory stream and the run file."""
        await self._load()
        t = self._second(now)
        vector = (await self.embedder.embed([text]))[0]
        memory = Memory(self.next_id, "dialogue", text, t, t, float(self.params["importance"]))
        self.next_id += 1
        self._stream(vector.shape[0]).add(memory, vector)
        self.ctx.memories.append(
            {
                "id": memory.id,
                "t": t,
                "kind": "dialogue",
                "text": text,
                "importance": memory.importance,
                "evidence": dumps([]),
            }
        )

    async def recall(self, query: str, now: int, *, before: int | None = None, touch: bool = True) -> list[Memory]:
        """The memories most worth recalling for ``query`` at second ``now``."""
        await self._load()
        if self.stream is None or len(self.stream) == 0:
            return []
        vector = (await self.embedder.embed([query]))[0]
        weights = Weights(top_k=int(self.params["top_k"]))
        return [s.memory for s in self.stream.retrieve(vector, now, weights, before=before, touch=touch)]

    async def answer(self, question: str, at: int, form: type[BaseModel] | None = None) -> str:
        """Answer an interview question from the memories formed by second ``at``, touching none of them."""
        recalled = await self.recall(question, at, before=at, touch=False)
        known = "\n".join(f"- {m.text}" for m in recalled) or "- nothing yet"
        role = next(iter(self.roles.values()), None)
        who = f"You are {self.spec.name}, the {role.name} of the team." if role else f"You are {self.spec.name}."
        messages = [
            {"role": "system", "content": who},
            {"role": "user", "content": f"Question: {question}\nYou remember:\n{known}"},
        ]
        if form is not None:  # a probe's structured answer, as JSON ("" if the model gave none)
            empty = form.model_construct()
            filled = await self.ctx.gateway.ask(
                form,
                messages,
                site=CallSite(self.spec.name, "interview"),
                fallback=empty,
                settings=self._settings(role),
            )
            return "" if filled is empty else str(filled.model_dump_json())
        reply = await self.ctx.gateway.ask(
            Answer,
            messages,
            site=CallSite(self.spec.name, "interview"),
            fallback=Answer(answer="I don't remember."),
            settings=self._settings(role),
        )
        return str(reply.answer)

    async def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        rows = self.ctx.recorded
        if rows:
            vectors = await self.embedder.embed([row["text"] for row in rows])
            stream = self._stream(vectors.shape[1])
            for row, vector in zip(rows, vectors, strict=True):
                stream.add(Memory(row["id"], row["kind"], row["text"], row["t"], row["t"], row["importance"]), vector)
            stream.restore(self._accessed)

    def _stream(self, dim: int) -> MemoryStream:
        if self.stream is None:
            self.stream = MemoryStream(dim)
        return self.stream

    def _second(self, now: datetime) -> int:
        return int((now - self.ctx.scenario.start).total_seconds())
