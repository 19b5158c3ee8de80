"""Stage runners: the read-transform-write step of each job, shared by the job's own
entry in jobs/ and by the pipeline job. The transformations they call are pure
``DataFrame -> DataFrame`` functions elsewhere in the library."""
