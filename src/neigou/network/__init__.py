"""The distribution network: team view, recruiting links that bind the inviter, leaderboards."""
