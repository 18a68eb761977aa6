"""The inspector: one person at the viewed time — memories, recall scores, reflections, plan, interview."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, RichLog, Static, TabbedContent, TabPane, Tree

from sim.core.simtime import iso
from sim.errors import UserError
from sim.tui.clock import ClockBar
from sim.tui.panes import SpaceTree
from sim.tui.recall import Recalled, mind_params, recall
from sim.tui.source import RunSource
from sim.tui.timeline import Timeline, plan_item
from sim.tui.view import View, describe, plan_progress

MARKS = {"done": ("✓", "dim"), "now": ("▶", "bold green"), "next": ("·", "")}


class InspectorScreen(Screen[None]):
    """Everything about one person as of the viewed point; follows the clock as it moves."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("m", "tab('memories')", "Memories"),
        Binding("r", "tab('recall')", "Recall"),
        Binding("e", "tab('reflections')", "Reflections"),
        Binding("l", "tab('plan')", "Plan"),
        Binding("n", "tab('interview')", "Interview"),
        Binding("w", "tab('work')", "Work"),
    ]
    DEFAULT_CSS = """
    InspectorScreen #who { height: auto; background: $boost; padding: 0 1; }
    InspectorScreen #memory-table { height: 1fr; }
    InspectorScreen #memory-detail { height: auto; max-height: 5; background: $boost; padding: 0 1; }
    InspectorScreen Input { margin: 0 1; }
    InspectorScreen #work-table { height: 1fr; }
    InspectorScreen #work-detail { height: auto; max-height: 12; background: $boost; padding: 0 1; }
    """

    def __init__(self, source: RunSource, timeline: Timeline, person: str) -> None:
        super().__init__()
        self.source, self.timeline, self.person = source, timeline, person
        self.view: View | None = None
        self.rows: list[dict[str, Any]] = []
        self.drawn = False  # the memory and reflection tables show ``rows``
        self.team = source.scenario is not None and source.scenario.team is not None
        self.work_rows: list[dict[str, Any]] = []  # the events the work table lists, newest first

    def compose(self) -> ComposeResult:
        """The person line and five tabs."""
        yield ClockBar()
        yield Static(id="who")
        with TabbedContent(id="inspector-tabs"):
            with TabPane("Memories", id="memories"):
                table: DataTable[str] = DataTable(id="memory-table", cursor_type="row", zebra_stripes=True)
                for column in ("id", "time", "kind", "imp", "text"):
                    table.add_column(column, key=column)
                yield table
                yield Static(id="memory-detail")
            with TabPane("Recall", id="recall"), Vertical():
                yield Input(
                    compact=True, placeholder="a query, e.g. the party; enter scores every memory", id="recall-query"
                )
                scores: DataTable[str] = DataTable(id="recall-table", cursor_type="row", zebra_stripes=True)
                for column in ("id", "kind", "recency", "importance", "relevance", "total", "text"):
                    scores.add_column(column, key=column)
                yield scores
            with TabPane("Reflections", id="reflections"):
                tree = SpaceTree("reflections", id="reflection-tree")
                tree.show_root = False
                yield tree
            with TabPane("Plan", id="plan"):
                yield Static(id="plan-text")
            with TabPane("Interview", id="interview"), Vertical():
                yield Input(compact=True, placeholder="ask a question; the answer is as of the viewed time", id="ask")
                yield RichLog(id="answers", wrap=True, min_width=30)
            if self.team:  # a team member's phases and files
                with TabPane("Work", id="work"), Vertical():
                    work: DataTable[str] = DataTable(id="work-table", cursor_type="row", zebra_stripes=True)
                    for column in ("time", "what", "detail"):
                        work.add_column(column, key=column)
                    yield work
                    yield Static(id="work-detail")
        yield Footer()

    def on_mount(self) -> None:
        """Show past interviews of this person."""
        log = self.query_one("#answers", RichLog)
        for row in self.source.interviews(self.person):
            log.write(_exchange(row["time"], row["question"], row["answer"]))

    def action_tab(self, tab: str) -> None:
        """Switch to one of the inspector's tabs."""
        self.query_one("#inspector-tabs", TabbedContent).active = tab

    def action_back(self) -> None:
        """Close the tab on show (back to Memories); on Memories, close the inspector."""
        tabs = self.query_one("#inspector-tabs", TabbedContent)
        if tabs.active != "memories":  # esc while typing a query leaves Recall, not the person
            tabs.active = "memories"
        else:
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The Work tab is there only in runs of a team."""
        return self.team or parameters != ("work",)

    @on(TabbedContent.TabActivated, "#inspector-tabs")
    def _focus(self, event: TabbedContent.TabActivated) -> None:
        target = {
            "memories": "#memory-table",
            "recall": "#recall-query",
            "reflections": "#reflection-tree",
            "plan": "#plan-text",
            "interview": "#ask",
            "work": "#work-table",
        }[str(event.pane.id)]
        widget = self.query_one(target)
        if widget.focusable:
            widget.focus()

    # -- drawing -------------------------------------------------------------------------

    def show(self, view: View) -> None:
        """Draw the person as of ``view``."""
        self.view = view
        state = view.state
        place = state.position.get(self.person) or (
            f"→ {state.travel[self.person][0]}" if self.person in state.travel else "not in the world"
        )
        minute = view.when.hour * 60 + view.when.minute
        plan = state.plans.get(self.person)
        who = Text.assemble(
            (self.person, "bold"),
            f" at {view.when:%a %H:%M:%S} · {place} · ",
            (state.activity.get(self.person, "") or "—", "italic"),
            f" · plan: {plan_item(plan, minute) or '—'}",
        )
        self.query_one("#who", Static).update(who)
        self._plan(plan, minute)
        if self.team:
            self._work(view)
        rows = self.source.memories(self.person, view.t)
        if [r["id"] for r in rows] == [r["id"] for r in self.rows] and self.drawn:
            return  # the same memories: keep the tables (and where the user is in them) as they are
        self.rows, self.drawn = rows, True
        table = self.query_one("#memory-table", DataTable)
        table.clear()
        for row in reversed(self.rows):
            table.add_row(
                str(row["id"]),
                _hhmm(self.source, row["t"]),
                row["kind"],
                f"{row['importance']:g}",
                row["text"],
                key=str(row["id"]),
            )
        self._reflections()

    @on(DataTable.RowHighlighted, "#memory-table")
    def _detail(self, event: DataTable.RowHighlighted) -> None:
        row = next((r for r in self.rows if str(r["id"]) == event.row_key.value), None)
        detail = self.query_one("#memory-detail", Static)
        if row is None:
            detail.update("")
            return
        cites = f" · rests on {', '.join(f'#{i}' for i in row['evidence'])}" if row["evidence"] else ""
        detail.update(
            Text.assemble(
                (f"#{row['id']} {row['kind']} · importance {row['importance']:g}{cites}\n", "dim"), row["text"]
            )
        )

    def memory_ids(self) -> list[int]:
        """The ids the memory table lists, top to bottom."""
        table = self.query_one("#memory-table", DataTable)
        return [int(str(table.get_row_at(i)[0])) for i in range(table.row_count)]

    def _reflections(self) -> None:
        tree = self.query_one("#reflection-tree", Tree)
        tree.clear()
        by_id = {row["id"]: row for row in self.rows}
        found = [row for row in reversed(self.rows) if row["kind"] == "reflection"]
        if not found:
            tree.root.add_leaf(Text("no reflections yet at this time", "dim"))
        for row in found:
            node = tree.root.add(
                Text.assemble(
                    (f"#{row['id']} ", "dim"),
                    row["text"],
                    (f"  ({_hhmm(self.source, row['t'])}, importance {row['importance']:g})", "dim"),
                ),
                data=row["id"],
                expand=True,
            )
            for ref in row["evidence"]:
                cited = by_id.get(ref)
                label = f"#{ref} [{cited['kind']}] {cited['text']}" if cited else f"#{ref} (not found)"
                node.add_leaf(Text(label, "cyan"), data=ref)

    def _plan(self, plan: dict[str, Any] | None, minute: int) -> None:
        text = Text()
        if not plan:
            text.append("no plan yet at this time", "dim")
        elif plan.get("items"):
            text.append(f"wake {plan.get('wake_up')} · bed {plan.get('bedtime')}\n\n", "bold")
            for mark, start, activity in plan_progress(plan, minute):
                symbol, style = MARKS[mark]
                text.append(f" {symbol} {start}  {activity}\n", style)
        else:
            text.append("\n".join(f"{key}: {value}" for key, value in plan.items()))
        self.query_one("#plan-text", Static).update(text)

    def _work(self, view: View) -> None:
        rows = list(reversed(self.source.work(self.person, view.seq)))
        if [r["seq"] for r in rows] == [r["seq"] for r in self.work_rows]:
            return
        self.work_rows = rows
        table = self.query_one("#work-table", DataTable)
        table.clear()
        for row in rows:
            table.add_row(_hhmm(self.source, row["t"]), *_work_cells(row, self.person), key=str(row["seq"]))
        if not rows:
            table.add_row("", "", "no phases or files yet at this time")

    @on(DataTable.RowHighlighted, "#work-table")
    def _work_detail(self, event: DataTable.RowHighlighted) -> None:
        row = next((r for r in self.work_rows if str(r["seq"]) == event.row_key.value), None)
        detail = self.query_one("#work-detail", Static)
        data = row["data"] if row else {}
        if row is None:
            detail.update("")
        elif row["kind"] == "artifact":
            content = self.source.artifact(str(data.get("path")), int(data.get("version", 0))) or ""
            head = f"{data.get('path')} v{data.get('version')} · {data.get('role')} in {data.get('phase') or 'the world'}\n"
            detail.update(Text.assemble((head, "dim"), content))
        else:
            detail.update(Text(describe(row), "italic"))

    # -- recall and interview ------------------------------------------------------------

    @on(Input.Submitted, "#recall-query")
    def _query(self, event: Input.Submitted) -> None:
        if self.view is not None:
            self.recall(event.value, self.view)

    @work(thread=True, exclusive=True, group="recall")
    def recall(self, query: str, view: View) -> list[Recalled]:
        """Score this person's memories at ``view`` for ``query`` (in a thread: embedding takes a moment)."""
        snapshot = self.timeline.snapshot_id(view.seq)
        state = self.source.snapshot_state(snapshot) if snapshot is not None else {}
        saved = state.get("minds", {}).get(self.person, {})
        assert self.source.scenario is not None
        kind, params = mind_params(self.source.scenario, self.person, self.source.options().get("settings", []))
        found = recall(kind, self.source.memories(self.person, view.t), saved, query, view.t, params)
        self.app.call_from_thread(self._scores, found)
        return found

    def _scores(self, found: list[Recalled]) -> None:
        table = self.query_one("#recall-table", DataTable)
        table.clear()
        for r in found:
            table.add_row(
                str(r.id),
                r.kind,
                f"{r.recency:.3f}",
                f"{r.importance_score:.3f}",
                f"{r.relevance:.3f}",
                f"{r.total:.3f}",
                r.text,
                key=str(r.id),
            )
        if not found:
            table.add_row("", "", "", "", "", "", "no memories at this time")

    @on(Input.Submitted, "#ask")
    def _ask(self, event: Input.Submitted) -> None:
        if self.view is None or not event.value.strip():
            return
        log = self.query_one("#answers", RichLog)
        log.write(Text(f"asking {self.person} as of {self.view.when:%a %H:%M}…", "dim"))
        event.input.value = ""
        self.interview(event.value, self.view)

    @work(thread=True, group="interview")
    def interview(self, question: str, view: View) -> str:
        """Ask the person ``question`` as of ``view`` (recorded in the run file), in a thread."""
        from sim.core.mind import load_minds
        from sim.llm.backends import LLMOptions
        from sim.research.interview import interview

        load_minds()  # the interview rebuilds the person's mind

        try:
            exchange = interview(str(Path(self.source.path)), self.person, question, iso(view.when), LLMOptions())
        except UserError as err:
            self.app.call_from_thread(self._answer, Text(f"could not ask: {err}", "red"))
            return ""
        self.app.call_from_thread(self._answer, _exchange(exchange.time, question, exchange.answer))
        return exchange.answer

    def _answer(self, text: Text) -> None:
        self.query_one("#answers", RichLog).write(text)


def _exchange(time: str, question: str, answer: str) -> Text:
    return Text.assemble((f"[{time}] ", "dim"), ("Q: ", "bold"), question, "\n", ("A: ", "bold green"), answer, "\n")


def _work_cells(row: dict[str, Any], person: str) -> tuple[str, str]:
    """What a work row says to ``person``: the phase or file, and how it went."""
    data = row["data"]
    if row["kind"] == "artifact":
        return f"wrote {data.get('path')} v{data.get('version')}", f"{data.get('lines')} lines in {data.get('phase')}"
    other = data.get("with") if row["person"] == person else row["person"]
    if row["kind"] == "phase":
        return f"began {data.get('phase')}", f"with {other}"
    return f"ended {data.get('phase')}", f"with {other}: {data.get('reason', '')}"


def _hhmm(source: RunSource, t: int) -> str:
    return f"{source.time().when(int(t)):%H:%M}"
