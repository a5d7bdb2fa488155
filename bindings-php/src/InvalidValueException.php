<?php
declare(strict_types=1);

namespace Convtrack;

class InvalidValueException extends InputException
{
}
