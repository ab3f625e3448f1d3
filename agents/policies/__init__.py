"""The policies: each turn one of them decides which tools to call and what the reply says.

base.py holds the interface (`Policy`) and what a policy may use (`Context`); planner.py and llm.py are the
two policies. This file imports nothing, so importing one policy never loads the others.
"""
