"""Everything that speaks Slack: the Web API client, who people are, and the listener framework.

- :mod:`.directory`: the shared ``WebClient``, ``users.info`` remembered in the people table, agency
  membership;
- :mod:`.listeners`: the declarative listener table (``Action``, ``View``, ``Shortcut``, ``Event``,
  ``Subcommand``) and :func:`.listeners.mount`, which attaches it to Bolt with one middleware, one
  unit of work and one error wrapper;
- :mod:`.request`: what a listener receives (:class:`.request.Request`) and returns
  (:class:`.request.Reply`);
- :mod:`.failures`: how any failure becomes a polite answer.

Domain packages never import this package: they receive plain values and return plain results.
"""

from bot.slack.directory import AgencyMembership, UserDirectory, make_web_client

__all__ = ["AgencyMembership", "UserDirectory", "make_web_client"]
