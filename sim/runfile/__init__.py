"""The run file: its tables, the log writer, who writes, shared queries, control rows, reading, exporting."""
