"""The work behind each job: what runs between Create*Job and a terminal status."""
