"""The run file: its tables, the log writer, who writes, shared queries, the control rows, reading by position, reading and exporting."""
