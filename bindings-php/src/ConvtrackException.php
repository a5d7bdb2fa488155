<?php
declare(strict_types=1);

namespace Convtrack;

/**
 * Base of every convtrack error. getStatus() is the C status code (convtrack_status),
 * getStatusName() its stable name, getField() the field or setting the message names.
 * Messages name the field and never contain its value or the access token.
 */
class ConvtrackException extends \RuntimeException
{
    private string $statusName;

    public function __construct(string $message, private int $status, ?string $statusName = null, ?\Throwable $previous = null)
    {
        parent::__construct($message, $status, $previous);
        $this->statusName = $statusName ?? (Errors::NAMES[$status] ?? 'CONVTRACK_STATUS_INTERNAL');
    }

    public function getStatus(): int
    {
        return $this->status;
    }

    public function getStatusName(): string
    {
        return $this->statusName;
    }

    /** The field or setting named by the message ("items[0].price: must be ..." gives "items[0].price"), or null. */
    public function getField(): ?string
    {
        return preg_match('/^([A-Za-z_][A-Za-z0-9_.\[\]]*): /', $this->getMessage(), $m) === 1 ? $m[1] : null;
    }
}
