"""The live web board: breach-countdown pages, ticket timelines, sign-in and wallboard links
(mounted by ``app.board.install``)."""
