"""Budget letters: the registry of kinds (kinds) and how a letter becomes HTML and a PDF
(rendering). Issuing and withdrawing are in allocations.services.letters, batches in
allocations.services.letter_batches."""
