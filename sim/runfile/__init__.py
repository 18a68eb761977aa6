"""The run file: its tables, the log writer, who writes, shared queries, reading and exporting."""
