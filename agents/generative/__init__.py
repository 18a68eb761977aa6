"""The generative agent: memory stream, retrieval, reflection, planning and dialogue (Park et al., 2023).

Each wake-up: notice what changed, reflect when enough has mattered, plan the day in the
morning, perhaps start a conversation, then carry on with the current 5–15 minute action,
decomposing the next hour just in time. Every constant is a parameter under
``minds: {generative: {...}}`` in the world file.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model

from agents.embeddings import Embedder, make_embedder, shared_embedder
from agents.generative import dialogue, planning, reflection
from agents.memory import Memory, MemoryStream, Weights
from sim.events import Event
from sim.llm.gateway import CallSite
from sim.log import dumps
from sim.mind import Decision, Do, Go, Line, MindContext, Note, Percept, Talk, Turn
from sim.scenario import PersonSpec

DEFAULTS: dict[str, Any] = {
    "planning": True,  # ablation switch: plan the day, or choose the next half hour as it comes
    "reflection": True,  # ablation switch
    "observation": True,  # ablation switch: remember what is perceived
    "reflection_threshold": 150.0,  # importance of new observations and conversations that triggers a reflection
    "reflection_questions": 3,
    "insights_per_question": 5,
    "reflection_window": 60,  # recent memories the questions are asked over
    "w_recency": 1.0,
    "w_importance": 1.0,
    "w_relevance": 1.0,
    "decay": 0.995,  # recency = decay ** hours since last access
    "top_k": 6,  # memories retrieved per query
    "talk_cooldown_minutes": 180,  # before the same two people may start another conversation
    "max_turns": 8,  # lines in a conversation at most
    "notice_limit": 12,  # observations kept between two decompositions, newest first
    "embeddings": None,  # None: WordLlama; "hash"; or "URL/model" of an embeddings endpoint
}

def check_params(params: dict[str, Any]) -> None:
    """Refuse parameters no run could use: negative or all-zero weights, a threshold ≤ 0."""
    merged = {**DEFAULTS, **params}
    weights(merged).check()
    if float(merged["reflection_threshold"]) <= 0:
        raise ValueError(f"reflection_threshold must be more than 0 (got {merged['reflection_threshold']})")
    if merged["embeddings"] is not None:
        make_embedder(str(merged["embeddings"]))  # checks the spec; nothing is loaded or contacted yet
    if int(merged["max_turns"]) < 2:
        raise ValueError(f"max_turns must be at least 2 (got {merged['max_turns']})")


def weights(params: dict[str, Any]) -> Weights:
    """The retrieval weights a parameter set describes."""
    return Weights(float(params["w_recency"]), float(params["w_importance"]), float(params["w_relevance"]),
                   float(params["decay"]), int(params["top_k"]))


@cache
def importance_model(count: int) -> type[BaseModel]:
    """The schema scoring ``count`` memories at once, 1 (mundane) to 10 (poignant)."""
    return create_model("Importance", scores=(list[Annotated[int, Field(ge=1, le=10)]],
                                              Field(min_length=count, max_length=count)))


class Answer(BaseModel):
    """A person's answer to an interview question."""

    answer: str = Field(max_length=600)


IMPORTANCE_SCALE = ("On a scale of 1 to 10, where 1 is purely mundane (brushing teeth, making the bed) and "
                    "10 is extremely poignant (a break-up, a death, big news), rate each memory")


class GenerativeMind:
    """A person with a memory stream who plans, reflects, notices, talks and remembers."""

    def __init__(self, spec: PersonSpec, ctx: MindContext) -> None:
        self.spec, self.ctx = spec, ctx
        self.params = {**DEFAULTS, **ctx.params}
        self.weights = weights(self.params)
        self.embedder: Embedder = shared_embedder(self.params["embeddings"])
        scenario = ctx.scenario
        self.home = scenario.resolve_place(spec.home)
        self.places, self.objects = _known_places(scenario, spec)
        self.bed = _bed(scenario, self.home)
        self.stream: MemoryStream | None = None
        # state saved in snapshots (memories themselves are rows of the run file):
        self.next_id = 1
        self.ready = False  # seed memories stored, or the stream rebuilt after a resume
        self.plan: dict[str, Any] | None = None
        self.plan_date: str | None = None
        self.actions: list[list[Any]] = []  # upcoming [start, end, activity, place, object], minutes of the day
        self.current: list[str] | None = None  # [activity, place] under way
        self.noticed: list[str] = []  # observations waiting to be scored and stored
        self.seen: dict[str, str] = {}  # person -> the activity last noticed
        self.importance_since = 0.0  # of observations stored since the last reflection
        self.last_talk: dict[str, int] = {}  # partner -> simulated second of the last conversation
        self._restored: dict[str, Any] = {}
        self._resumed = False

    # -- memories ------------------------------------------------------------------------

    async def _remember(self, kind: str, texts: list[str], importance: list[float], t: int,
                        evidence: list[list[int]] | None = None) -> list[Memory]:
        if not texts:
            return []
        vectors = await self.embedder.embed(texts)
        stream = self._stream(vectors.shape[1])
        made = []
        for index, text in enumerate(texts):
            proof = tuple(evidence[index]) if evidence else ()
            memory = Memory(self.next_id, kind, text, t, t, float(importance[index]), proof)
            self.next_id += 1
            stream.add(memory, vectors[index])
            self.ctx.memories.append({"id": memory.id, "t": t, "kind": kind, "text": text,
                                      "importance": memory.importance, "evidence": dumps(list(proof))})
            made.append(memory)
        return made

    def _stream(self, dim: int) -> MemoryStream:
        if self.stream is None:
            self.stream = MemoryStream(dim)
        return self.stream

    async def retrieve(self, query: str, now: int, *, k: int | None = None, before: int | None = None,
                       touch: bool = True) -> list[Memory]:
        """The memories most worth recalling for ``query`` at second ``now``."""
        if self.stream is None or len(self.stream) == 0:
            return []
        vector = (await self.embedder.embed([query]))[0]
        scored = self.stream.retrieve(vector, now, self.weights, k=k, before=before, touch=touch)
        return [s.memory for s in scored]

    async def _score(self, texts: list[str], t: int) -> list[float]:
        """Importance for each text: known texts keep their score, the rest are scored in one call."""
        known = {m.text: m.importance for m in self.stream} if self.stream is not None else {}
        missing = [text for text in dict.fromkeys(texts) if text not in known]
        if missing:
            schema = importance_model(len(missing))
            listing = "\n".join(f"{i}. {text}" for i, text in enumerate(missing, 1))
            fallback = schema(scores=[3] * len(missing))
            answer = await self._ask(schema, "importance", f"{IMPORTANCE_SCALE}:\n{listing}", fallback)
            known.update(zip(missing, answer.scores, strict=True))
        return [float(known[text]) for text in texts]

    async def _ready(self, now: int) -> None:
        if self.ready:
            return
        self.ready = True
        rows = self.ctx.recorded
        if self._resumed:  # rebuild the stream from the run file, then the access times
            if not rows:
                return
            vectors = await self.embedder.embed([row["text"] for row in rows])
            stream = self._stream(vectors.shape[1])
            for row, vector in zip(rows, vectors, strict=True):
                stream.add(Memory(row["id"], row["kind"], row["text"], row["t"], row["t"], row["importance"],
                                  tuple(row["evidence"])), vector)
            if self._restored.get("stream"):
                stream.restore(self._restored["stream"])
            return
        seeds = list(self.spec.memories)
        seeds += [f"{r.name} is my {r.relation}" for r in self.spec.relationships]
        if self.spec.lifestyle:
            seeds.append(f"My habits: {self.spec.lifestyle}")
        await self._remember("seed", seeds, await self._score(seeds, now), now)

    # -- the protocol --------------------------------------------------------------------

    async def decide(self, percept: Percept) -> Decision:
        """Notice, reflect, plan, maybe talk, then do the next action of the plan."""
        now = percept.now
        t = self._second(now)
        await self._ready(t)
        whispers = [str(e.data.get("text", "")) for e in percept.events
                    if e.kind == "intervene" and e.data.get("kind") == "whisper"]
        if whispers:  # planted by a researcher: a memory at once, whatever the ablations, even on the road
            await self._remember("whisper", whispers, await self._score(whispers, t), t)
        if percept.place is None:
            return Decision()
        notes: list[Any] = []
        self._notice(percept)
        minute = now.hour * 60 + now.minute
        if self.params["planning"] and self.plan_date != now.date().isoformat() and minute >= 4 * 60:
            notes.append(await self._plan_day(now))
        if self._asleep(minute):
            return self._sleep(percept, now, notes)
        if self.params["reflection"] and reflection.due(self.importance_since, float(self.params["reflection_threshold"])):
            await self._reflect(t)
        partner = await self._choose_partner(percept, t)
        if partner is not None:
            return Decision([*notes, Talk(*partner)])
        action = await self._next_action(now, t)
        if action[3] != percept.place:
            self.current = None
            return Decision([*notes, Go(action[3], purpose=action[2])])
        until = _at(now, action[1])
        if self.current != [action[2], action[3]]:
            self.current = [action[2], action[3]]
            notes.append(Do(action[2], until, action[4]))
        return Decision(notes, until)

    def notices(self, event: Event) -> bool:
        """Woken by being spoken to, or by an injected event where the person is."""
        if event.kind == "say":
            return event.data.get("to") == self.spec.name
        return event.kind == "intervene"

    def state(self) -> dict[str, Any]:
        """Everything but the memories themselves, which are rows of the run file."""
        return {
            "next_id": self.next_id, "plan": self.plan, "plan_date": self.plan_date, "actions": self.actions,
            "current": self.current, "noticed": self.noticed, "seen": self.seen,
            "importance_since": self.importance_since, "last_talk": self.last_talk,
            # Restored but not woken since: the stream is rebuilt lazily, so say what was restored
            # (a snapshot taken before this person's next wake equals an uninterrupted run's).
            "stream": self.stream.state() if self.stream is not None else self._restored.get("stream", {}),
            "ready": self.ready or bool(self._restored.get("ready")),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved; the stream is rebuilt from the run file on the next wake."""
        self.next_id, self.plan, self.plan_date = state["next_id"], state["plan"], state["plan_date"]
        self.actions, self.current, self.noticed = state["actions"], state["current"], state["noticed"]
        self.seen, self.importance_since = state["seen"], state["importance_since"]
        self.last_talk = state["last_talk"]
        self._restored = state
        self.ready = False
        # rebuild the stream from recorded rows; seed only if that never happened
        self._resumed = bool(state["ready"]) or bool(self.ctx.recorded)

    # -- perception ----------------------------------------------------------------------

    def _notice(self, percept: Percept) -> None:
        """Queue what is new: people doing something else than last seen, objects, events heard."""
        if not self.params["observation"]:
            self.noticed.clear()
            return
        fresh: list[str] = []
        for other, activity in percept.people:
            if activity and self.seen.get(other) != activity:
                self.seen[other] = activity
                fresh.append(f"{other} {activity}" if not activity.startswith("talking") else f"{other} is {activity}")
        for event in percept.events:
            if event.kind == "say":
                fresh.append(f"{event.person} said to me: {event.data.get('text', '')}")
            elif event.kind == "intervene" and event.data.get("kind") != "whisper":
                fresh.append(str(event.data.get("text", "")))
        limit = int(self.params["notice_limit"])
        self.noticed = (self.noticed + fresh)[-limit:]

    async def _store_noticed(self, scores: list[int] | None, t: int) -> None:
        if not self.noticed:
            return
        texts, self.noticed = self.noticed, []
        values = [float(s) for s in scores] if scores is not None else await self._score(texts, t)
        await self._remember("observation", texts, values, t)
        self.importance_since += sum(values)

    # -- planning ------------------------------------------------------------------------

    async def _plan_day(self, now: datetime) -> Note:
        t = self._second(now)
        insights = [m.text for m in (self.stream.recent(5, kinds=("reflection",)) if self.stream else [])]
        habits = "; ".join(f"{item.at} {item.do}" for item in self.spec.routine) or self.spec.lifestyle or "none given"
        # What the person has in mind (plans made, news to pass on) shapes the day, as in the paper.
        in_mind = await self.retrieve(f"my plans, intentions and news for {now:%A %d %B}", t, k=3)
        prompt = (f"Today is {now:%A %d %B %Y}. Your usual day: {habits}.\n"
                  f"You have in mind: {_listing(in_mind)}\n"
                  f"Your recent thoughts: {' '.join(insights) or 'none'}\n"
                  "Plan today in broad strokes: when you get up and go to bed, and 5 to 8 things you will do, "
                  "each with the hour it starts.")
        first = self.spec.routine[0].do if self.spec.routine else "starts the day"
        fallback = planning.DayPlan(wake_up="07:00", bedtime="22:00", items=[
            planning.PlanItem(start=f"{h:02d}:00", activity=_clip(a, 160)) for h, a in
            ((7, first), (9, f"works as {self.spec.occupation or 'usual'}"), (12, "has lunch"),
             (13, "works"), (18, "has dinner and rests"))])
        plan = await self._ask(planning.DayPlan, "day_plan", prompt, fallback)
        assert isinstance(plan, planning.DayPlan)
        self.plan, self.plan_date = plan.model_dump(), now.date().isoformat()
        self.actions = []
        summary = "; ".join(f"{i.start} {i.activity}" for i in plan.items)
        await self._remember("plan", [f"My plan for {now:%A}: wake {plan.wake_up}, {summary}, bed {plan.bedtime}"],
                             [5.0], t)
        return Note("plan", {"scope": "day", "date": self.plan_date, **self.plan})

    def _asleep(self, minute: int) -> bool:
        if self.plan is None:
            return minute < 6 * 60 or minute >= 23 * 60
        wake, bed = planning.minutes(self.plan["wake_up"]), planning.minutes(self.plan["bedtime"])
        return minute < wake or minute >= bed

    def _sleep(self, percept: Percept, now: datetime, notes: list[Any]) -> Decision:
        if percept.place != self.home:
            self.current = None
            return Decision([*notes, Go(self.home, purpose="going home to sleep")])
        minute = now.hour * 60 + now.minute
        wake = planning.minutes(self.plan["wake_up"]) if self.plan else 6 * 60
        until = _at(now, wake) if minute < wake else _at(now + timedelta(days=1), 4 * 60)
        if self.current != ["sleeping", self.home]:
            self.current = ["sleeping", self.home]
            notes.append(Do("sleeping", until, self.bed))
        return Decision(notes, until)

    async def _next_action(self, now: datetime, t: int) -> list[Any]:
        minute = now.hour * 60 + now.minute
        self.actions = [a for a in self.actions if a[1] > minute]
        if not self.actions:
            block = self._block(minute)
            self.actions = await self._decompose(block, now, t)
        return self.actions[0]

    def _block(self, minute: int) -> planning.Block:
        if self.params["planning"] and self.plan is not None:
            for block in planning.blocks(planning.DayPlan.model_validate(self.plan)):
                if block.start <= minute < block.end:
                    return planning.Block(minute, block.end, block.activity)
        return planning.Block(minute, min(minute + 30, 24 * 60 - 1), "whatever seems best right now")

    async def _decompose(self, block: planning.Block, now: datetime, t: int) -> list[list[Any]]:
        """One call: the block's 5–15 minute actions with their places, and scores for what was noticed."""
        recalled = await self.retrieve(block.activity, t)
        noticed = list(self.noticed)
        base = planning.decomposition_model(self.places, self.objects)
        schema = _with_scores(base, len(noticed))
        prompt = (f"It is {now:%H:%M}. From {_clock(block.start)} to {_clock(block.end)} you planned: {block.activity}.\n"
                  f"You remember: {_listing(recalled)}\n"
                  + (f"Since last time you noticed:\n{_numbered(noticed)}\n{IMPORTANCE_SCALE} you noticed (scores).\n"
                     if noticed else "")
                  + "Break the time into steps of 5 to 15 minutes, each at one of your places, using an object "
                    "there or none.")
        where = self.current[1] if self.current else self.home
        step = {"minutes": 15, "activity": block.activity[:planning.ACTIVITY_CHARS], "object": "none",
                "place": where if where in self.places else self.places[0]}
        fallback_steps: dict[str, Any] = {"steps": [step, step]}
        if noticed:
            fallback_steps["scores"] = [3] * len(noticed)
        answer = await self._ask(schema, "decompose", prompt, schema.model_validate(fallback_steps))
        await self._store_noticed(getattr(answer, "scores", None), t)
        steps = []
        for step in answer.steps:
            area = self.ctx.scenario.resolve_place(step.place)
            obj = step.object if step.object in self.ctx.world.objects.get(area, {}) else None
            steps.append((step.minutes, step.activity, area, obj))
        return [[a.start, a.end, a.activity, a.place, a.object] for a in planning.fit(steps, block.start, block.end)]

    # -- reflection ----------------------------------------------------------------------

    async def _reflect(self, t: int) -> None:
        assert self.stream is not None
        self.importance_since = 0.0
        recent = self.stream.recent(int(self.params["reflection_window"]))
        count = int(self.params["reflection_questions"])
        asked = await self._ask(reflection.questions_model(count), "reflection_questions",
                                f"Your recent memories:\n{_numbered([m.text for m in recent])}\n"
                                f"What are the {count} most salient high-level questions these raise about you "
                                "and the people around you?",
                                reflection.questions_model(count)(questions=["What matters most to me now?"] * count))
        questions: list[str] = asked.questions
        pool: dict[int, Memory] = {}
        for question in questions:
            for memory in await self.retrieve(question, t):
                pool.setdefault(memory.id, memory)
        evidence = list(pool.values())
        if not evidence:
            return
        per = int(self.params["insights_per_question"])
        schema = reflection.insights_model(len(questions), per, len(evidence))
        prompt = (f"Questions:\n{_numbered(questions)}\nStatements:\n{_numbered([m.text for m in evidence])}\n"
                  f"For each question give up to {per} insights, each citing the statements it rests on.")
        answer = await self._ask(schema, "reflection_insights", prompt, None)
        if answer is None:
            return
        insights = answer.insights
        await self._remember("reflection", [i.text for i in insights], [float(i.importance) for i in insights], t,
                             [[evidence[n - 1].id for n in i.because] for i in insights])

    # -- dialogue ------------------------------------------------------------------------

    async def _choose_partner(self, percept: Percept, t: int) -> tuple[str, str, int] | None:
        cooldown = int(self.params["talk_cooldown_minutes"]) * 60
        candidates = tuple(
            other for other, activity in percept.people
            if "sleep" not in activity and not activity.startswith("talking")
            and t - self.last_talk.get(other, -10**9) >= cooldown
        )
        if not candidates:
            return None
        recalled = await self.retrieve(" ".join(candidates), t)
        schema = dialogue.talk_choice_model(candidates)
        known = {r.name: r.relation for r in self.spec.relationships}
        here = "; ".join(f"{c} ({known.get(c, 'someone you may not know')}) is here" for c in candidates)
        prompt = (f"Right now: {self.current[0] if self.current else 'nothing in particular'}. {here}.\n"
                  f"You remember: {_listing(recalled)}\nDo you start a conversation, and about what?")
        choice = await self._ask(schema, "talk_decision", prompt, schema(talk_to=dialogue.NOBODY, topic="nothing"))
        partner = str(choice.talk_to)
        for other in candidates:  # asked once: not again about the same people until the cooldown
            self.last_talk[other] = t
        if partner == dialogue.NOBODY:
            return None
        return partner, str(choice.topic), int(self.params["max_turns"])

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        """Say the next line, drawing on memories of the partner and the topic."""
        t = self._second(now)
        await self._ready(t)
        doing = self.current[0] if self.current else "nothing in particular"
        # What one is busy with colours what one says, as the paper's agent status does.
        recalled = await self.retrieve(f"{partner}. {topic}. {doing}", t, k=4)
        relation = next((r.relation for r in self.spec.relationships if r.name == partner), "someone you know")
        prompt = (f"You are talking with {partner} ({relation}) about {topic}.\n"
                  f"Right now: {doing}.\n"
                  f"You remember: {_listing(recalled)}\n"
                  f"So far:\n{dialogue.transcript(lines)}\nSay your next line; end the conversation when it has run "
                  "its course.")
        said = await self._ask(dialogue.Utterance, "dialogue_turn", prompt,
                               dialogue.Utterance(line="Well, I should get going.", end=True))
        return Turn(said.line, said.end)

    async def remember_conversation(self, partner: str, topic: str, lines: list[Line], now: datetime) -> None:
        """Keep a summary and what was learned, scored by how much it mattered."""
        t = self._second(now)
        self.last_talk[partner] = t
        prompt = (f"You just talked with {partner} about {topic}:\n{dialogue.transcript(lines)}\n"
                  "Summarise the conversation, list up to three things you learned, and rate how much it mattered "
                  "(1 to 10).")
        notes = await self._ask(dialogue.ConversationNotes, "dialogue_memory", prompt,
                                dialogue.ConversationNotes(summary=_clip(f"I talked with {partner} about {topic}.", 240), learned=[],
                                                           importance=3))
        assert isinstance(notes, dialogue.ConversationNotes)
        texts = [notes.summary, *notes.learned]
        await self._remember("dialogue", texts, [float(notes.importance)] * len(texts), t)
        # What is heard in a conversation is perceived too, and counts toward reflecting.
        self.importance_since += float(notes.importance) * len(texts)

    # -- interviews ----------------------------------------------------------------------

    async def answer(self, question: str, at: int, form: type[BaseModel] | None = None) -> str:
        """Answer from memories formed by second ``at``, touching none of them (``form``: as that schema's JSON)."""
        await self._ready(at)
        recalled = await self.retrieve(question, at, before=at, touch=False)
        task = f"You remember: {_listing(recalled)}\nQuestion: {question}"
        if form is not None:
            filled = await self._ask(form, "interview", task, None)
            return "" if filled is None else str(filled.model_dump_json())
        reply = await self._ask(Answer, "interview", task, Answer(answer="I don't remember."))
        return str(reply.answer)

    # -- helpers -------------------------------------------------------------------------

    async def _ask(self, schema: type[BaseModel], purpose: str, task: str, fallback: BaseModel | None) -> Any:
        messages = [{"role": "system", "content": self._persona()}, {"role": "user", "content": task}]
        settings = self.spec.model.over(self.ctx.scenario.model) if self.spec.model else self.ctx.scenario.model
        if fallback is None:
            fallback = schema.model_construct()
            answer = await self.ctx.gateway.ask(schema, messages, site=CallSite(self.spec.name, purpose),
                                                fallback=fallback, settings=settings)
            return None if answer is fallback else answer
        return await self.ctx.gateway.ask(schema, messages, site=CallSite(self.spec.name, purpose),
                                          fallback=fallback, settings=settings)

    def _persona(self) -> str:
        spec = self.spec
        text = f"You are {spec.name}, {spec.age}"
        text += f", {spec.occupation}." if spec.occupation else "."
        if spec.traits:
            text += f" You are {', '.join(spec.traits)}."
        return text + f" You live at {self.home}."

    def _second(self, now: datetime) -> int:
        return int((now - self.ctx.scenario.start).total_seconds())


def _known_places(scenario: Any, spec: PersonSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Areas a person knows (their home, their routine's places, every place nobody lives in) and their objects."""
    homes = {scenario.resolve_place(p.home).split(":", 1)[0] for p in scenario.people}
    own = scenario.resolve_place(spec.home).split(":", 1)[0]
    known = [f"{s.name}:{a.name}" for s in scenario.sectors for a in s.areas if s.name == own or s.name not in homes]
    for item in spec.routine:
        if item.place and item.place != "free":
            area = scenario.resolve_place(item.place)
            if area not in known:
                known.append(area)
    objects = sorted({o.name for s in scenario.sectors for a in s.areas for o in a.objects
                      if f"{s.name}:{a.name}" in known})
    return tuple(known), tuple(objects)


def _bed(scenario: Any, home: str) -> str | None:
    sector, area = home.split(":", 1)
    for s in scenario.sectors:
        if s.name == sector:
            for a in s.areas:
                for o in a.objects:
                    if "bed" in o.name and a.name == area:
                        return str(o.name)
    return None


def _with_scores(base: type[BaseModel], count: int) -> type[BaseModel]:
    if not count:
        return base
    return _scored(base, count)


@cache
def _scored(base: type[BaseModel], count: int) -> type[BaseModel]:
    return create_model(f"{base.__name__}Scored", __base__=base,
                        scores=(list[Annotated[int, Field(ge=1, le=10)]], Field(min_length=count, max_length=count)))


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters: fallbacks quote model or author text and must always validate."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _listing(memories: list[Memory]) -> str:
    return " ".join(m.text.rstrip(".") + "." for m in memories) or "nothing in particular."


def _numbered(texts: list[str]) -> str:
    return "\n".join(f"{i}. {text}" for i, text in enumerate(texts, 1))


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _at(now: datetime, minute: int) -> datetime:
    return datetime.combine(now.date(), datetime.min.time()) + timedelta(minutes=minute)


